// Pages anyone may open from an e-mail: confirming an address, asking for and following a
// password-reset link. A link's page shows what it will do and a button: mail scanners that
// open links do not spend them (only the POST does).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html } from '../../lib/html.js';
import { csrfField } from '../views/layout.js';
import type { Portal } from '../session.js';
import { clientOf } from '../../http/client.js';
import { attempt, failureBox, field, type FormFailure } from '../forms.js';
import { EMAIL_MAX, PASSWORD_MAX, PASSWORD_MIN } from '../../accounts/accounts.service.js';

const Token = { type: 'string', maxLength: 200 } as const;
const TokenQuery = { type: 'object', properties: { token: Token } } as const;

export async function identityPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const { emailLinks } = portal.services;
  const gone = html`<div class="card"><h1>This link cannot be used</h1><div class="error" role="alert">It was used already, replaced by a newer one, or has expired.</div>
<p><a href="/account">Send a new confirmation e-mail</a> · <a href="/password/forgot">Ask for a new password link</a></p></div>`;

  r.get('/email/verify', { schema: { querystring: TokenQuery } }, async (req, reply) => {
    const link = req.query.token ? await emailLinks.peek(req.query.token, 'verify') : undefined;
    if (!link) return portal.render(reply, portal.ctx(req, 'Confirm your address'), gone, 400);
    return portal.render(reply, portal.ctx(req, 'Confirm your address'), html`<div class="card"><h1>Confirm your address</h1>
<p>Confirm that <b>${link.email}</b> is your e-mail address.</p>
<form method="post" action="/email/verify">${csrfField(req.csrfToken!)}<input type="hidden" name="token" value="${req.query.token!}"><button type="submit">Confirm ${link.email}</button></form></div>`);
  });

  r.post('/email/verify', { attachValidation: true, schema: { body: { type: 'object', properties: { _csrf: { type: 'string' }, token: Token }, required: ['_csrf', 'token'] } } },
    async (req, reply) => attempt(req, reply, async () => {
      const { email } = await emailLinks.verify(req.body.token);
      return portal.done(req, reply, req.user ? '/account' : '/login', { notice: `${email} is confirmed.` });
    }, (failure) => portal.render(reply, portal.ctx(req, 'Confirm your address'), gone, failure.status)));

  r.get('/email/change', { schema: { querystring: TokenQuery } }, async (req, reply) => {
    const link = req.query.token ? await emailLinks.peek(req.query.token, 'change') : undefined;
    if (!link) return portal.render(reply, portal.ctx(req, 'Confirm your new address'), gone, 400);
    return portal.render(reply, portal.ctx(req, 'Confirm your new address'), html`<div class="card"><h1>Confirm your new address</h1>
<p>Make <b>${link.email}</b> the e-mail address of your account.</p>
<form method="post" action="/email/change">${csrfField(req.csrfToken!)}<input type="hidden" name="token" value="${req.query.token!}"><button type="submit">Use ${link.email}</button></form></div>`);
  });

  r.post('/email/change', { attachValidation: true, schema: { body: { type: 'object', properties: { _csrf: { type: 'string' }, token: Token }, required: ['_csrf', 'token'] } } },
    async (req, reply) => attempt(req, reply, async () => {
      const { email } = await emailLinks.confirmEmailChange(req.body.token, clientOf(req));
      return portal.done(req, reply, req.user ? '/account' : '/login', { notice: `Your address is now ${email}.` });
    }, (failure) => portal.render(reply, portal.ctx(req, 'Confirm your new address'), failure.status === 409 ? html`<div class="card"><div class="error" role="alert">${failure.message}</div></div>` : gone, failure.status)));

  const forgotForm = (req: FastifyRequest, v: { email?: unknown } = {}, failure?: FormFailure) => html`<div class="card"><h1>Forgot your password?</h1>${failureBox(failure)}
<p>Enter the address of your account: we send a link to choose a new password, valid for 30 minutes.</p>
<form method="post" action="/password/forgot">${csrfField(req.csrfToken!)}
${field({ name: 'email', label: 'Email', type: 'email', value: v.email, required: true, maxLength: EMAIL_MAX, autocomplete: 'username' }, failure)}
<button type="submit">Send the link</button></form><p class="muted"><a href="/login">Back to log in</a></p></div>`;

  r.get('/password/forgot', async (req, reply) => portal.render(reply, portal.ctx(req, 'Forgot your password?'), forgotForm(req)));

  r.post('/password/forgot', { attachValidation: true, schema: { body: { type: 'object', properties: { _csrf: { type: 'string' }, email: { type: 'string', maxLength: EMAIL_MAX } }, required: ['_csrf', 'email'] } } },
    async (req, reply) => attempt(req, reply, async () => {
      await emailLinks.requestReset(req.body.email, req.ip);
      // The same words whether or not an account uses the address.
      return portal.done(req, reply, '/password/forgot', { notice: `If an account uses ${req.body.email.trim().toLowerCase()}, a link to choose a new password is on its way. It works for 30 minutes.` });
    }, (failure) => portal.render(reply, portal.ctx(req, 'Forgot your password?'), forgotForm(req, req.body ?? {}, failure), failure.status)));

  const resetForm = (req: FastifyRequest, reply: FastifyReply, token: string, email: string, failure?: FormFailure) => portal.render(reply, portal.ctx(req, 'Choose a new password'), html`<div class="card"><h1>Choose a new password</h1>${failureBox(failure)}
<p>For <b>${email}</b>. Every session of the account ends: log in again everywhere with the new password.</p>
<form method="post" action="/password/reset">${csrfField(req.csrfToken!)}<input type="hidden" name="token" value="${token}">
${field({ name: 'password', label: 'New password', type: 'password', required: true, minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX, autocomplete: 'new-password', hint: `At least ${PASSWORD_MIN} characters.` }, failure)}
<button type="submit">Set the new password</button></form></div>`, failure?.status ?? 200);

  r.get('/password/reset', { schema: { querystring: TokenQuery } }, async (req, reply) => {
    const link = req.query.token ? await emailLinks.peek(req.query.token, 'reset') : undefined;
    if (!link) return portal.render(reply, portal.ctx(req, 'Choose a new password'), gone, 400);
    return resetForm(req, reply, req.query.token!, link.email);
  });

  r.post('/password/reset', {
    attachValidation: true,
    schema: { body: { type: 'object', properties: { _csrf: { type: 'string' }, token: Token, password: { type: 'string', maxLength: PASSWORD_MAX } }, required: ['_csrf', 'token', 'password'] } },
  }, async (req, reply) => attempt(req, reply, async () => {
    await emailLinks.reset(req.body.token, req.body.password, clientOf(req));
    // Every session ended, this browser's too.
    await portal.endSession(req, reply);
    return portal.done(req, reply, '/login', { notice: 'Your password is changed and every session has ended. Log in with the new password.' });
  }, async (failure) => {
    const link = req.body?.token ? await emailLinks.peek(req.body.token, 'reset') : undefined;
    return link ? resetForm(req, reply, req.body.token, link.email, failure) : portal.render(reply, portal.ctx(req, 'Choose a new password'), gone, failure.status);
  }));
}
