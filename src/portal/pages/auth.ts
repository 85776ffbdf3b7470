// Sign up, log in, log out, and the dashboard with the seed's getting-started steps.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html } from '../../lib/html.js';
import { csrfField, errorBox } from '../views/layout.js';
import { CsrfOnly, safeNext, type Portal } from '../session.js';
import { attempt } from '../routes.js';

const Next = { type: 'string', maxLength: 2000 } as const;

function signupForm(csrf: string, v: { email?: string; name?: string; next?: string }, error?: string) {
  return html`<div class="card"><h1>Create your account</h1>${errorBox(error)}
<form method="post" action="/signup">${csrfField(csrf)}<input type="hidden" name="next" value="${v.next ?? ''}">
<label for="name">Name</label><input id="name" type="text" name="name" value="${v.name ?? ''}" required autocomplete="name">
<label for="email">Email</label><input id="email" type="email" name="email" value="${v.email ?? ''}" required autocomplete="email">
<label for="password">Password</label><input id="password" type="password" name="password" required minlength="10" autocomplete="new-password">
<p class="muted">At least 10 characters.</p><button type="submit">Sign up</button></form>
<p class="muted">Already have an account? <a href="/login${v.next ? `?next=${encodeURIComponent(v.next)}` : ''}">Log in</a></p></div>`;
}

function loginForm(csrf: string, v: { email?: string; next?: string }, error?: string) {
  return html`<div class="card"><h1>Log in</h1>${errorBox(error)}
<form method="post" action="/login">${csrfField(csrf)}<input type="hidden" name="next" value="${v.next ?? ''}">
<label for="email">Email</label><input id="email" type="email" name="email" value="${v.email ?? ''}" required autocomplete="username">
<label for="password">Password</label><input id="password" type="password" name="password" required autocomplete="current-password">
<button type="submit">Log in</button></form>
<p class="muted">New here? <a href="/signup${v.next ? `?next=${encodeURIComponent(v.next)}` : ''}">Create an account</a></p></div>`;
}

export async function authPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const { accounts } = portal.services;

  r.get('/', async (req, reply) => reply.redirect(req.user ? '/dashboard' : '/login', 303));

  r.get('/signup', { schema: { querystring: { type: 'object', properties: { next: Next, email: { type: 'string', maxLength: 254 } } } } },
    async (req, reply) => portal.render(reply, portal.ctx(req, 'Sign up'), signupForm(req.csrfToken!, { next: req.query.next, email: req.query.email })));

  r.post('/signup', {
    schema: {
      body: {
        type: 'object',
        properties: { _csrf: { type: 'string' }, name: { type: 'string', maxLength: 200 }, email: { type: 'string', maxLength: 300 }, password: { type: 'string', maxLength: 300 }, next: Next },
        required: ['_csrf', 'name', 'email', 'password'],
      },
    },
  }, async (req, reply) => attempt(reply, async () => {
    const user = await accounts.signup(req.body);
    await portal.startSession(reply, user.id);
    return reply.redirect(safeNext(req.body.next), 303);
  }, (message, status) => portal.render(reply, portal.ctx(req, 'Sign up'), signupForm(req.csrfToken!, req.body, message), status)));

  r.get('/login', { schema: { querystring: { type: 'object', properties: { next: Next, login_hint: { type: 'string', maxLength: 254 } } } } },
    async (req, reply) => portal.render(reply, portal.ctx(req, 'Log in'), loginForm(req.csrfToken!, { next: req.query.next, email: req.query.login_hint })));

  r.post('/login', {
    schema: {
      body: {
        type: 'object',
        properties: { _csrf: { type: 'string' }, email: { type: 'string', maxLength: 300 }, password: { type: 'string', maxLength: 300 }, next: Next },
        required: ['_csrf', 'email', 'password'],
      },
    },
  }, async (req, reply) => attempt(reply, async () => {
    const user = await accounts.authenticate(req.body.email, req.body.password, req.ip);
    await portal.startSession(reply, user.id);
    return reply.redirect(safeNext(req.body.next), 303);
  }, (message, status) => portal.render(reply, portal.ctx(req, 'Log in'), loginForm(req.csrfToken!, req.body, message), status)));

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
<div class="card">${phones.length} phone number(s) · ${orgs.length} organisation(s) · ${groups.length} group(s) · ${connectors.length} connector(s)</div>`);
  });
}
