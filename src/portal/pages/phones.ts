// "Add a phone number" → "Generate PIN" → verify; and the development SMS outbox.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html } from '../../lib/html.js';
import { notFound } from '../../lib/errors.js';
import { PHONE_MAX } from '../../lib/phone.js';
import { csrfField, table } from '../views/layout.js';
import { CsrfOnly, type Portal } from '../session.js';
import { attempt, failureBox, field, type FormFailure } from '../forms.js';
import type { PhoneNumber } from '../../phones/phones.service.js';

const Id = { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] } as const;
const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

export async function phonePages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const { phones } = portal.services;
  const outboxOn = portal.services.deps.config.sms.provider === 'outbox';

  const listPage = (list: PhoneNumber[], csrf: string, v: { phone?: unknown }, failure?: FormFailure) => html`<h1>Phone numbers</h1>
<p class="muted">Group membership follows verified phone numbers: a number verified here makes you the person behind it in every group that lists it.</p>
${failureBox(failure)}
${table(html`<tr><th>Number</th><th>Status</th><th></th></tr>
${list.map((p) => html`<tr><td>${p.e164}</td><td>${p.verified_at ? html`<span class="tag ok">verified</span>` : html`<span class="tag warn">pending</span>`}</td>
<td>${p.verified_at ? '' : html`<a href="/phones/${p.id}/verify">Enter PIN</a> · `}<form class="inline" method="post" action="/phones/${p.id}/delete">${csrfField(csrf)}<button class="secondary" type="submit">Remove</button></form></td></tr>`)}
${list.length ? '' : html`<tr><td colspan="3" class="muted">No phone numbers yet.</td></tr>`}`)}
<div class="card" style="margin-top:18px"><h2 style="margin-top:0">Add a phone number</h2>
<form method="post" action="/phones">${csrfField(csrf)}${field({ name: 'phone', label: 'Phone number', type: 'tel', value: v.phone, required: true, maxLength: PHONE_MAX, placeholder: '+14155550123', hint: 'International form, starting with + and the country code.' }, failure)}
<button type="submit">Generate PIN</button></form></div>`;

  const verifyPage = (p: PhoneNumber, csrf: string, failure?: FormFailure) => html`<h1>Verify ${p.e164}</h1>
${failureBox(failure)}
<div class="card"><p>We sent a 6-digit PIN by SMS to <b>${p.e164}</b>. It expires 10 minutes after it was sent; 5 wrong tries cancel it.
${outboxOn ? html`<br><span class="muted">Development mode: read it in the <a href="/outbox">SMS outbox</a>.</span>` : ''}</p>
<form method="post" action="/phones/${p.id}/verify">${csrfField(csrf)}<label for="pin">PIN</label>
<input id="pin" type="text" name="pin" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required${failure?.fields.pin ? html` aria-invalid="true" aria-describedby="pin-error"` : ''}>
${failure?.fields.pin ? html`<p class="field-error" id="pin-error">${failure.fields.pin}</p>` : ''}<button type="submit">Verify</button></form>
<form method="post" action="/phones/${p.id}/resend">${csrfField(csrf)}<button class="secondary" type="submit">Send a new PIN</button></form></div>`;

  r.get('/phones', async (req, reply) =>
    portal.render(reply, portal.ctx(req, 'Phone numbers', 'phones'), listPage(await phones.list(req.user!.id), req.csrfToken!, {})));

  const AddPhone = { type: 'object', properties: { _csrf: { type: 'string' }, phone: { type: 'string', maxLength: PHONE_MAX } }, required: ['_csrf', 'phone'] } as const;
  r.post('/phones', { attachValidation: true, schema: { body: AddPhone } },
    async (req, reply) => attempt(req, reply, async () => {
      const p = await phones.add(req.user!.id, req.body.phone);
      return portal.done(req, reply, `/phones/${p.id}/verify`, { notice: `A PIN is on its way to ${p.e164}.` });
    }, async (failure) => portal.render(reply, portal.ctx(req, 'Phone numbers', 'phones'),
      listPage(await phones.list(req.user!.id), req.csrfToken!, req.body ?? {}, failure), failure.status)));

  r.get('/phones/:id/verify', { schema: { params: Id } }, async (req, reply) => {
    const p = await phones.get(req.user!.id, req.params.id);
    if (p.verified_at) return reply.redirect('/phones', 303);
    return portal.render(reply, portal.ctx(req, 'Verify phone', 'phones', [['Phone numbers', '/phones'], [p.e164]]), verifyPage(p, req.csrfToken!));
  });

  const Verify = { type: 'object', properties: { _csrf: { type: 'string' }, pin: { type: 'string', maxLength: 20 } }, required: ['_csrf', 'pin'] } as const;
  r.post('/phones/:id/verify', { attachValidation: true, schema: { params: Id, body: Verify } },
    async (req, reply) => attempt(req, reply, async () => {
      const p = await phones.verify(req.user!.id, req.params.id, req.body.pin);
      return portal.done(req, reply, '/phones', { notice: `${p.e164} is verified.` });
    }, async (failure) => {
      const p = await phones.get(req.user!.id, req.params.id);
      return portal.render(reply, portal.ctx(req, 'Verify phone', 'phones', [['Phone numbers', '/phones'], [p.e164]]), verifyPage(p, req.csrfToken!, failure), failure.status);
    }));

  r.post('/phones/:id/resend', { attachValidation: true, schema: { params: Id, body: CsrfOnly } },
    async (req, reply) => {
      const p = await phones.get(req.user!.id, req.params.id);
      return attempt(req, reply, async () => {
        await phones.sendPin(req.user!.id, req.params.id);
        return portal.done(req, reply, `/phones/${p.id}/verify`, { notice: 'A new PIN is on its way; the previous one no longer works.' });
      }, (failure) => portal.render(reply, portal.ctx(req, 'Verify phone', 'phones', [['Phone numbers', '/phones'], [p.e164]]), verifyPage(p, req.csrfToken!, failure), failure.status));
    });

  r.post('/phones/:id/delete', { schema: { params: Id, body: CsrfOnly } }, async (req, reply) => {
    const p = await phones.get(req.user!.id, req.params.id);
    await phones.remove(req.user!.id, p.id);
    return portal.done(req, reply, '/phones', { notice: `${p.e164} removed.` });
  });

  r.get('/outbox', async (req, reply) => {
    if (!outboxOn) throw notFound('Page');
    const messages = await phones.outbox(req.user!.id);
    return portal.render(reply, portal.ctx(req, 'SMS outbox', 'outbox'), html`<h1>SMS outbox</h1>
<p class="muted">Development SMS provider: messages your actions sent are kept here instead of going to a phone. Set <code>SMS_PROVIDER=http</code> to use a real gateway.</p>
${table(html`<tr><th>Sent</th><th>To</th><th>Message</th></tr>
${messages.map((m) => html`<tr><td class="muted">${when(m.created_at)}</td><td>${m.recipient}</td><td class="sms-body">${m.body}</td></tr>`)}
${messages.length ? '' : html`<tr><td colspan="3" class="muted">No messages.</td></tr>`}`)}`);
  });
}
