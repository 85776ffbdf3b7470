// Sign up, log in, log out, and the dashboard with the seed's getting-started steps.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html } from '../../lib/html.js';
import { count } from '../views/layout.js';
import { CsrfOnly, safeNext, type Portal } from '../session.js';
import { clientOf } from '../../http/client.js';
import { attempt } from '../forms.js';
import { EMAIL_MAX, NAME_MAX, PASSWORD_MAX } from '../../accounts/accounts.service.js';
import { loginForm, signupForm } from '../views/auth-forms.js';
import { afterPassword, CodeBody, showCodeStep, submitCode } from '../login-steps.js';

const Next = { type: 'string', maxLength: 2000 } as const;
// The limits the service applies, so the browser refuses what the server would.
const Name = { type: 'string', maxLength: NAME_MAX } as const;
const Email = { type: 'string', maxLength: EMAIL_MAX } as const;
const Password = { type: 'string', maxLength: PASSWORD_MAX } as const;

export async function authPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const { accounts } = portal.services;
  const providers = portal.services.federation.list();

  r.get('/', async (req, reply) => reply.redirect(req.user ? '/dashboard' : '/login', 303));

  r.get('/signup', { schema: { querystring: { type: 'object', properties: { next: Next, email: Email } } } },
    async (req, reply) => portal.render(reply, portal.ctx(req, 'Sign up'), signupForm(req.csrfToken!, { next: req.query.next, email: req.query.email }, undefined, { providers })));

  r.post('/signup', {
    attachValidation: true,
    schema: { body: { type: 'object', properties: { _csrf: { type: 'string' }, name: Name, email: Email, password: Password, next: Next }, required: ['_csrf', 'name', 'email', 'password'] } },
  }, async (req, reply) => attempt(req, reply, async () => {
    const user = await accounts.signup(req.body);
    await portal.startSession(req, reply, user.id);
    const sent = await portal.services.emailLinks.welcome(user);
    return portal.done(req, reply, safeNext(req.body.next), {
      notice: `Welcome to Tessera, ${user.name}. Your account is ready. ${sent ? `Confirm ${user.email} with the link we e-mailed.` : 'We could not e-mail you a confirmation link; send it again from Account.'}`,
    });
  }, (failure) => portal.render(reply, portal.ctx(req, 'Sign up'), signupForm(req.csrfToken!, req.body ?? {}, failure, { providers }), failure.status)));

  r.get('/login', { schema: { querystring: { type: 'object', properties: { next: Next, login_hint: Email } } } },
    async (req, reply) => portal.render(reply, portal.ctx(req, 'Log in'), loginForm(req.csrfToken!, { next: req.query.next, email: req.query.login_hint }, undefined, { providers })));

  r.post('/login', {
    attachValidation: true,
    schema: { body: { type: 'object', properties: { _csrf: { type: 'string' }, email: Email, password: Password, next: Next }, required: ['_csrf', 'email', 'password'] } },
  }, async (req, reply) => attempt(req, reply, async () => {
    const user = await accounts.authenticate(req.body.email, req.body.password, clientOf(req));
    return afterPassword(portal, req, reply, user.id, safeNext(req.body.next));
  }, (failure) => portal.render(reply, portal.ctx(req, 'Log in'), loginForm(req.csrfToken!, req.body ?? {}, failure, { providers }), failure.status)));

  r.get('/login/code', async (req, reply) => showCodeStep(portal, req, reply));
  r.post('/login/code', { attachValidation: true, schema: { body: CodeBody } },
    async (req, reply) => attempt(req, reply, () => submitCode(portal, req, reply, req.body.code), (failure) => showCodeStep(portal, req, reply, '', failure)));

  r.post('/logout', { schema: { body: CsrfOnly } }, async (req, reply) => {
    await portal.endSession(req, reply);
    return reply.redirect('/login', 303);
  });

  r.get('/dashboard', async (req, reply) => {
    if (!req.user) return reply.redirect('/login?next=%2Fdashboard', 303);
    const actor = await portal.actor(req);
    const s = portal.services;
    const [phones, orgs, groups, connectors] = await Promise.all([
      s.phones.list(req.user.id), s.orgs.listForUser(req.user.id), s.orgs.groupsForActor(actor), s.connectors.listForActor(actor),
    ]);
    const done = (b: boolean) => (b ? html`<span class="tag ok">done</span>` : html`<span class="tag warn">to do</span>`);
    return portal.render(reply, portal.ctx(req, 'Dashboard', 'dashboard'), html`<h1>Welcome, ${req.user.name}</h1>
<div class="card"><h2 style="margin-top:0">Getting started</h2><ol class="steps">
<li>${done(phones.some((p) => p.verified_at !== null))} <a href="/phones">Add a phone number</a> and verify it with the PIN sent by SMS.</li>
<li>${done(orgs.length > 0)} <a href="/orgs">Create an organisation</a> and its conversation groups.</li>
<li>${done(connectors.length > 0)} <a href="/connectors/new">Register a connector</a>: note its ID and secret.</li>
<li>As a group admin, open a <a href="/groups">group</a> → Connectors → Add Connector, and hand the refresh token to the developer.</li>
<li>The developer calls <code>GET /v1/accessToken</code> with <code>applicationId</code>, <code>applicationSecret</code> and <code>refreshToken</code> headers, then the platform API.</li>
</ol></div>
<div class="card" id="counts">${count(phones.length, 'phone number')} · ${count(orgs.length, 'organisation')} · ${count(groups.length, 'group')} · ${count(connectors.length, 'connector')}</div>`);
  });
}
