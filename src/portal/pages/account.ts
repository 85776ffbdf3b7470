// The person's own account: their address and whether it is confirmed (with a button to send
// the link again), changing the password, and the development e-mail outbox.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html, raw } from '../../lib/html.js';
import { copyable, count, csrfField, table, atMinute } from '../views/layout.js';
import { CsrfOnly, SESSION_COOKIE, type Portal } from '../session.js';
import { clientOf } from '../../http/client.js';
import { attempt, failureBox, field, type FormFailure } from '../forms.js';
import { notFound } from '../../lib/errors.js';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../accounts/accounts.service.js';
import { outboxOf } from '../../mail/mail.js';
import { identityAccountRoutes, signInMethodsCard } from '../../federation/pages.js';


export async function accountPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const s = portal.services;
  const mailOutbox = !s.deps.config.mail.smtpUrl;

  const page = async (req: FastifyRequest, reply: FastifyReply, failure?: FormFailure) => {
    const user = (await s.accounts.getUser(req.user!.id))!;
    const [twoFactor, signInMethods, hasPassword] = await Promise.all([s.twoFactor.status(user.id), signInMethodsCard(portal, req), s.accounts.hasPassword(user.id)]);
    return portal.render(reply, portal.ctx(req, 'Account', 'account'), html`<h1>Account</h1>${failureBox(failure)}
<p><a href="/account/security">Security events</a>: log-ins, failed attempts and changes to your account.</p>
<div class="card" id="email"><p><b>${user.name}</b><br>${user.email} ${user.email_verified_at === null
      ? html`<span class="tag warn">unconfirmed</span></p><p class="muted">Confirm the address with the link we e-mailed${mailOutbox ? html` (development: in the <a href="/mail-outbox">e-mail outbox</a>)` : ''}. Applications see it as unverified until then.</p>
<form method="post" action="/account/verification">${csrfField(req.csrfToken!)}<button class="secondary" type="submit">Send the link again</button></form>`
      : html`<span class="tag ok">confirmed</span></p>`}</div>
${signInMethods}
<div class="card" id="two-factor"><h2 style="margin-top:0">Two-factor authentication</h2>${twoFactor.enabled
      ? html`<p><span class="tag ok">on</span> Log-in asks for a code from your authenticator app. ${count(twoFactor.recoveryLeft, 'recovery code')} left.</p>
<form method="post" action="/account/two-factor/disable">${csrfField(req.csrfToken!)}
${hasPassword ? field({ name: 'password', label: 'Password', type: 'password', required: true, maxLength: PASSWORD_MAX, autocomplete: 'current-password' }, failure) : ''}
${field({ name: 'code', label: 'Code from your authenticator app', required: true, maxLength: 20, autocomplete: 'one-time-code' }, failure)}
<button class="danger" type="submit">Turn off two-factor authentication</button></form>`
      : html`<p><span class="tag warn">off</span> Protect the account with a code from an authenticator app at every log-in.</p>
<form method="post" action="/account/two-factor">${csrfField(req.csrfToken!)}<button type="submit">Set up two-factor authentication</button></form>`}</div>
${hasPassword ? html`<div class="card"><h2 style="margin-top:0">Change password</h2>
<form method="post" action="/account/password">${csrfField(req.csrfToken!)}
${field({ name: 'current_password', label: 'Current password', type: 'password', required: true, maxLength: PASSWORD_MAX, autocomplete: 'current-password' }, failure)}
${field({ name: 'new_password', label: 'New password', type: 'password', required: true, minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX, autocomplete: 'new-password', hint: `At least ${PASSWORD_MIN} characters.` }, failure)}
<button type="submit">Change password</button></form></div>` : ''}`, failure?.status ?? 200);
  };

  r.get('/account', async (req, reply) => page(req, reply));

  await identityAccountRoutes(app, portal, page);
  // An account made through a provider has no password: the reset link sets the first one.
  r.post('/account/password/link', { attachValidation: true, schema: { body: CsrfOnly } }, async (req, reply) => attempt(req, reply, async () => {
    await s.emailLinks.sendPasswordLink(req.user!, req.ip);
    return portal.done(req, reply, '/account#sign-in-methods', { notice: `A link to set your password is on its way to ${req.user!.email}.` });
  }, (failure) => page(req, reply, failure)));

  r.post('/account/verification', { attachValidation: true, schema: { body: CsrfOnly } }, async (req, reply) => attempt(req, reply, async () => {
    await s.emailLinks.sendVerification(req.user!);
    return portal.done(req, reply, '/account#email', { notice: `A new link is on its way to ${req.user!.email}; earlier links no longer work.` });
  }, (failure) => page(req, reply, failure)));

  const Passwords = {
    type: 'object',
    properties: { _csrf: { type: 'string' }, current_password: { type: 'string', maxLength: PASSWORD_MAX }, new_password: { type: 'string', maxLength: PASSWORD_MAX } },
    required: ['_csrf', 'current_password', 'new_password'],
  } as const;
  r.post('/account/password', { attachValidation: true, schema: { body: Passwords } }, async (req, reply) => attempt(req, reply, async () => {
    await s.accounts.changePassword(req.user!.id, req.body.current_password, req.body.new_password, req.cookies[SESSION_COOKIE], clientOf(req));
    return portal.done(req, reply, '/account', { notice: 'Password changed; every other session has ended.' });
  }, (failure) => page(req, reply, failure)));

  // ---- two-factor authentication ----

  const enrolPage = async (req: FastifyRequest, reply: FastifyReply, failure?: FormFailure) => {
    const enrolment = await s.twoFactor.pendingEnrolment(req.user!);
    if (!enrolment) return reply.redirect('/account#two-factor', 303);
    return portal.render(reply, portal.ctx(req, 'Set up two-factor authentication', 'account', [['Account', '/account'], ['Two-factor authentication']]), html`<h1>Set up two-factor authentication</h1>${failureBox(failure)}
<div class="card"><ol class="steps"><li>Scan this code with an authenticator app (1Password, Google Authenticator, Authy, …):</li></ol>
<div class="qr" role="img" aria-label="QR code of the authenticator secret">${raw(enrolment.qrSvg)}</div>
<p>Or type the secret:</p>${copyable('totp-secret', enrolment.secret)}
<ol class="steps" start="2"><li>Enter the six-digit code the app shows.</li></ol>
<form method="post" action="/account/two-factor/confirm">${csrfField(req.csrfToken!)}
${field({ name: 'code', label: 'Code', required: true, maxLength: 20, autocomplete: 'one-time-code' }, failure)}
<button type="submit">Turn on</button></form></div>`, failure?.status ?? 200);
  };

  r.post('/account/two-factor', { attachValidation: true, schema: { body: CsrfOnly } }, async (req, reply) => attempt(req, reply, async () => {
    await s.twoFactor.beginEnrolment(req.user!);
    return portal.done(req, reply, '/account/two-factor');
  }, (failure) => page(req, reply, failure)));

  r.get('/account/two-factor', async (req, reply) => enrolPage(req, reply));

  const CodeOnly = { type: 'object', properties: { _csrf: { type: 'string' }, code: { type: 'string', maxLength: 20 } }, required: ['_csrf', 'code'] } as const;
  r.post('/account/two-factor/confirm', { attachValidation: true, schema: { body: CodeOnly } }, async (req, reply) => attempt(req, reply, async () => {
    const codes = await s.twoFactor.confirmEnrolment(req.user!, req.body.code, clientOf(req));
    return portal.done(req, reply, '/account#two-factor', {
      notice: 'Two-factor authentication is on. Keep these recovery codes somewhere safe: each logs you in once without the app, and they are shown only now.',
      secrets: [{ id: 'recovery-codes', label: 'Recovery codes', value: codes.join(' ') }],
    });
  }, (failure) => enrolPage(req, reply, failure)));

  const Disable = {
    // The password is checked only for an account that has one (TwoFactor.disable).
    type: 'object', properties: { _csrf: { type: 'string' }, password: { type: 'string', maxLength: PASSWORD_MAX }, code: { type: 'string', maxLength: 20 } }, required: ['_csrf', 'code'],
  } as const;
  r.post('/account/two-factor/disable', { attachValidation: true, schema: { body: Disable } }, async (req, reply) => attempt(req, reply, async () => {
    await s.twoFactor.disable(req.user!, req.body.password ?? '', req.body.code, clientOf(req));
    return portal.done(req, reply, '/account#two-factor', { notice: 'Two-factor authentication is off.' });
  }, (failure) => page(req, reply, failure)));

  r.get('/mail-outbox', async (req, reply) => {
    if (!mailOutbox) throw notFound('Page');
    const messages = await outboxOf(s.deps.db, req.user!.id);
    return portal.render(reply, portal.ctx(req, 'E-mail outbox', 'mail-outbox'), html`<h1>E-mail outbox</h1>
<p class="muted">Development e-mail provider: messages for you are kept here instead of being sent. Set <code>SMTP_URL</code> to send them. A link that was used is blanked out.</p>
${table(html`<tr><th>Sent</th><th>To</th><th>Subject</th><th>Message</th></tr>
${messages.map((m) => html`<tr><td class="muted">${atMinute(m.created_at)}</td><td>${m.recipient}</td><td>${m.subject}</td><td class="mail-body"><pre style="white-space:pre-wrap;margin:0;font:inherit">${m.body}</pre></td></tr>`)}
${messages.length ? '' : html`<tr><td colspan="4" class="muted">No messages.</td></tr>`}`)}`);
  });
}
