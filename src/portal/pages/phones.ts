// "Add a phone number" → "Generate PIN" → verify; and the development SMS outbox.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html } from '../../lib/html.js';
import { notFound } from '../../lib/errors.js';
import { csrfField, errorBox } from '../views/layout.js';
import { CsrfOnly, type Portal } from '../session.js';
import { attempt } from '../routes.js';
import type { PhoneNumber } from '../../phones/phones.service.js';

const Id = { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] } as const;
const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

export async function phonePages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const { phones } = portal.services;
  const outboxOn = portal.services.deps.config.sms.provider === 'outbox';

  const listPage = (list: PhoneNumber[], csrf: string, v: { phone?: string }, error?: string) => html`<h1>Phone numbers</h1>
<p class="muted">Group membership follows verified phone numbers: a number verified here makes you the person behind it in every group that lists it.</p>
${errorBox(error)}
<table><tr><th>Number</th><th>Status</th><th></th></tr>
${list.map((p) => html`<tr><td>${p.e164}</td><td>${p.verified_at ? html`<span class="tag ok">verified</span>` : html`<span class="tag warn">pending</span>`}</td>
<td>${p.verified_at ? '' : html`<a href="/phones/${p.id}/verify">Enter PIN</a> · `}<form class="inline" method="post" action="/phones/${p.id}/delete">${csrfField(csrf)}<button class="secondary" type="submit">Remove</button></form></td></tr>`)}
${list.length ? '' : html`<tr><td colspan="3" class="muted">No phone numbers yet.</td></tr>`}</table>
<div class="card" style="margin-top:18px"><h2 style="margin-top:0">Add a phone number</h2>
<form method="post" action="/phones">${csrfField(csrf)}<label for="phone">Phone number</label>
<input id="phone" type="tel" name="phone" value="${v.phone ?? ''}" placeholder="+14155550123" required>
<p class="muted">International form, starting with + and the country code.</p><button type="submit">Generate PIN</button></form></div>`;

  const verifyPage = (p: PhoneNumber, csrf: string, error?: string, notice?: string) => html`<h1>Verify ${p.e164}</h1>
${errorBox(error)}${notice ? html`<div class="notice">${notice}</div>` : ''}
<div class="card"><p>We sent a 6-digit PIN by SMS to <b>${p.e164}</b>. It expires 10 minutes after it was sent; 5 wrong tries cancel it.
${outboxOn ? html`<br><span class="muted">Development mode: read it in the <a href="/outbox">SMS outbox</a>.</span>` : ''}</p>
<form method="post" action="/phones/${p.id}/verify">${csrfField(csrf)}<label for="pin">PIN</label>
<input id="pin" type="text" name="pin" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required><button type="submit">Verify</button></form>
<form method="post" action="/phones/${p.id}/resend">${csrfField(csrf)}<button class="secondary" type="submit">Send a new PIN</button></form></div>`;

  r.get('/phones', async (req, reply) =>
    portal.render(reply, portal.ctx(req, 'Phone numbers', 'phones'), listPage(await phones.list(req.user!.id), req.csrfToken!, {})));

  const AddPhone = { type: 'object', properties: { _csrf: { type: 'string' }, phone: { type: 'string', maxLength: 40 } }, required: ['_csrf', 'phone'] } as const;
  r.post('/phones', { schema: { body: AddPhone } },
    async (req, reply) => attempt(reply, async () => {
      const p = await phones.add(req.user!.id, req.body.phone);
      return reply.redirect(`/phones/${p.id}/verify`, 303);
    }, async (message, status) => portal.render(reply, portal.ctx(req, 'Phone numbers', 'phones'),
      listPage(await phones.list(req.user!.id), req.csrfToken!, req.body, message), status)));

  r.get('/phones/:id/verify', { schema: { params: Id } }, async (req, reply) => {
    const p = await phones.get(req.user!.id, req.params.id);
    if (p.verified_at) return reply.redirect('/phones', 303);
    return portal.render(reply, portal.ctx(req, 'Verify phone', 'phones'), verifyPage(p, req.csrfToken!));
  });

  const Verify = { type: 'object', properties: { _csrf: { type: 'string' }, pin: { type: 'string', maxLength: 20 } }, required: ['_csrf', 'pin'] } as const;
  r.post('/phones/:id/verify', { schema: { params: Id, body: Verify } },
    async (req, reply) => attempt(reply, async () => {
      await phones.verify(req.user!.id, req.params.id, req.body.pin);
      return reply.redirect('/phones', 303);
    }, async (message, status) => portal.render(reply, portal.ctx(req, 'Verify phone', 'phones'),
      verifyPage(await phones.get(req.user!.id, req.params.id), req.csrfToken!, message), status)));

  r.post('/phones/:id/resend', { schema: { params: Id, body: CsrfOnly } },
    async (req, reply) => {
      const p = await phones.get(req.user!.id, req.params.id);
      return attempt(reply, async () => {
        await phones.sendPin(req.user!.id, req.params.id);
        return portal.render(reply, portal.ctx(req, 'Verify phone', 'phones'), verifyPage(p, req.csrfToken!, undefined, 'A new PIN is on its way; the previous one no longer works.'));
      }, (message, status) => portal.render(reply, portal.ctx(req, 'Verify phone', 'phones'), verifyPage(p, req.csrfToken!, message), status));
    });

  r.post('/phones/:id/delete', { schema: { params: Id, body: CsrfOnly } }, async (req, reply) => {
    await phones.remove(req.user!.id, req.params.id);
    return reply.redirect('/phones', 303);
  });

  r.get('/outbox', async (req, reply) => {
    if (!outboxOn) throw notFound('Page');
    const messages = await phones.outbox(req.user!.id);
    return portal.render(reply, portal.ctx(req, 'SMS outbox', 'outbox'), html`<h1>SMS outbox</h1>
<p class="muted">Development SMS provider: messages your actions sent are kept here instead of going to a phone. Set <code>SMS_PROVIDER=http</code> to use a real gateway.</p>
<table><tr><th>Sent</th><th>To</th><th>Message</th></tr>
${messages.map((m) => html`<tr><td class="muted">${when(m.created_at)}</td><td>${m.recipient}</td><td class="sms-body">${m.body}</td></tr>`)}
${messages.length ? '' : html`<tr><td colspan="3" class="muted">No messages.</td></tr>`}</table>`);
  });
}
