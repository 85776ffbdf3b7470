// "Projects" (Kandy's domains): the organisation's account key and secret, its plan and usage,
// its projects with their keys (the secret shown once), and each project's provisioned users.
// The rules live in DomainsService; these pages only render and submit forms.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html, type SafeHtml } from '../../lib/html.js';
import { copyable, count, csrfField, table, type Flash, atMinute } from '../views/layout.js';
import { CsrfOnly, type Portal } from '../session.js';
import { attempt, failureBox, field, type FormFailure } from '../forms.js';
import type { Actor } from '../../auth/policy.js';
import type { DomainsTable } from '../../db/schema.js';
import type { AccountWithPlan } from '../../kandy/queries.js';

const Id = { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] } as const;
const DOMAIN_NAME_MAX = 253;
const PROJECT_NAME_MAX = 100;

export async function projectPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const s = portal.services;
  const base = s.deps.config.publicUrl;
  const isAdmin = (actor: Actor, orgId: string) => ['owner', 'admin'].includes(actor.orgRoles.get(orgId) ?? '');

  // Over the limit happens when the operator lowers a plan below an account's usage: nobody is
  // deleted, and the page says why creates are refused.
  const usageTag = (a: AccountWithPlan): SafeHtml | '' => a.users_used > a.max_users ? html` <span class="tag warn">over the limit: new users are refused</span>`
    : a.users_used === a.max_users ? html` <span class="tag warn">limit reached</span>` : '';
  const usage = (a: AccountWithPlan): SafeHtml => html`<p id="plan-usage"><b>${a.plan_name}</b> plan: <b>${a.users_used}</b> of ${a.max_users} users
<meter min="0" max="${a.max_users}" value="${a.users_used}" style="width:160px;vertical-align:middle"></meter>${usageTag(a)}</p>`;

  const listPage = async (req: FastifyRequest, orgIdInput: string | undefined, opts: { failure?: FormFailure; form?: { domainName?: unknown; projectName?: unknown } } = {}) => {
    const actor = await portal.actor(req);
    const orgs = await s.orgs.listForUser(actor.userId);
    if (!orgs.length) return html`<h1>Projects</h1><div class="card">Projects belong to an organisation: <a href="/orgs">create or join one</a> first.</div>`;
    const orgId = orgs.some((o) => o.id === orgIdInput) ? orgIdInput! : orgs[0]!.id;
    const org = orgs.find((o) => o.id === orgId)!;
    const { account, domains } = await s.domains.overview(actor, orgId);
    const plans = await s.domains.plans();
    const admin = isAdmin(actor, orgId);
    const csrf = req.csrfToken!;
    return html`<h1>Projects</h1>${failureBox(opts.failure)}
${orgs.length > 1 ? html`<p>${orgs.map((o) => html`<a class="tag" href="/projects?org=${o.id}">${o.name}</a>`)}</p>` : ''}
<div class="card"><h2 style="margin-top:0">Account of ${org.name}</h2>
<p><b>Account API key</b></p>${copyable('account-key', account.api_key)}
<p class="muted">${account.api_secret_hash ? 'An account secret exists; it was shown once when generated.' : 'No account secret yet.'}
Exchange them at <code>GET ${base}/v1.2/accounts/accesstokens?key=…&amp;account_api_secret=…</code> to manage projects over the API.</p>
${admin ? html`<form class="inline" method="post" action="/projects/account-secret">${csrfField(csrf)}<input type="hidden" name="orgId" value="${orgId}">
<button class="secondary" type="submit">${account.api_secret_hash ? 'Rotate account secret' : 'Generate account secret'}</button></form>` : ''}</div>
<div class="card"><h2 style="margin-top:0">Plan</h2>${usage(account)}
${table(html`<tr><th>Plan</th><th>Users per account</th></tr>${plans.map((p) => html`<tr><td>${p.name}${p.id === account.plan_id ? html` <span class="tag ok">current</span>` : ''}</td><td>${p.max_users}</td></tr>`)}`)}
<p class="muted">Plans are set by the operator of this Tessera (<code>tessera plans</code>).</p></div>
<h2>Projects of ${org.name}</h2>
${table(html`<tr><th>Domain</th><th>Project</th><th>API key</th><th>Users</th></tr>
${domains.map((d) => html`<tr><td><a href="/projects/${d.id}">${d.domain_name}</a></td><td>${d.project_name}</td><td>${copyable(`key-${d.id}`, d.api_key)}</td><td>${d.users}</td></tr>`)}
${domains.length ? '' : html`<tr><td colspan="4" class="muted">No projects yet.</td></tr>`}`)}
${admin ? html`<div class="card" style="margin-top:18px"><h2 style="margin-top:0">Create a project</h2>
<form method="post" action="/projects">${csrfField(csrf)}<input type="hidden" name="orgId" value="${orgId}">
${field({ name: 'domainName', label: 'Domain name', value: opts.form?.domainName, required: true, maxLength: DOMAIN_NAME_MAX, placeholder: 'example.com' }, opts.failure)}
${field({ name: 'projectName', label: 'Project name', value: opts.form?.projectName, maxLength: PROJECT_NAME_MAX }, opts.failure)}
<button type="submit">Create project</button></form><p class="muted">Users get ids of the form <code>user_id@domain name</code>.</p></div>` : ''}`;
  };

  const secretFlash = (d: DomainsTable, secret: string, fresh: boolean): Flash => ({
    notice: `${fresh ? 'Project created.' : 'New secret generated.'} Copy the secret now: it is shown only once and stored only as a hash.`,
    secrets: [{ id: 'project-key', label: 'Project API key', value: d.api_key }, { id: 'project-secret', label: 'Project API secret', value: secret }],
    ...(fresh ? {} : { note: 'The previous secret and every access token issued with it no longer work.' }),
  });

  const detailPage = async (req: FastifyRequest, id: string) => {
    const actor = await portal.actor(req);
    const { domain, users } = await s.domains.usersOfDomain(actor, id);
    const { account } = await s.domains.overview(actor, domain.org_id);
    const admin = isAdmin(actor, domain.org_id);
    const csrf = req.csrfToken!;
    return html`<h1>${domain.project_name}</h1>
<div class="card"><p><b>Domain</b></p>${copyable('domain-name-value', domain.domain_name)}
<p><b>Project API key</b></p>${copyable('project-key-value', domain.api_key)}
${usage(account)}
${admin ? html`<form class="inline" method="post" action="/projects/${domain.id}/rotate">${csrfField(csrf)}<button class="secondary" type="submit">Rotate secret</button></form>
<form class="inline" method="post" action="/projects/${domain.id}/revoke">${csrfField(csrf)}<button class="secondary" type="submit">Revoke access tokens</button></form>
<form class="inline" method="post" action="/projects/${domain.id}/delete">${csrfField(csrf)}<button class="danger" type="submit">Delete project</button></form>` : ''}</div>
<h2>Users</h2>
${table(html`<tr><th>User</th><th>Full user id</th><th>Country</th><th>Name</th><th>Email</th><th>Created (UTC)</th></tr>
${users.map((u) => html`<tr><td>${u.user_id}</td><td><code>${u.user_id}@${domain.domain_name}</code></td><td>${u.country_code}</td><td>${[u.first_name, u.last_name].filter(Boolean).join(' ')}</td><td>${u.email ?? ''}</td><td>${atMinute(u.created_at)}</td></tr>`)}
${users.length ? '' : html`<tr><td colspan="6" class="muted">No users yet.</td></tr>`}`, html`id="users"`)}
<h2>Provision users</h2><div class="card"><ol class="steps">
<li>Domain access token: <code>curl "${base}/v1.2/domains/accesstokens?key=${domain.api_key}&amp;domain_api_secret=PROJECT_API_SECRET"</code></li>
<li>Create a user: <code>curl -H "Content-Type: application/json" -X POST -d '{"user_id":"bob","user_country_code":"+1"}' "${base}/v1.2/domains/users/user_id?key=ACCESS_TOKEN"</code></li></ol>
<p class="muted">Passwords and user secrets are returned once, at creation; Tessera keeps only their hashes.</p></div>
<p><a href="/projects?org=${domain.org_id}">All projects of the organisation</a></p>`;
  };

  const render = (req: FastifyRequest, reply: FastifyReply, title: string, body: SafeHtml, status = 200, crumbs?: [string, string?][]) =>
    portal.render(reply, portal.ctx(req, title, 'projects', crumbs), body, status);

  r.get('/projects', { schema: { querystring: { type: 'object', properties: { org: { type: 'string', maxLength: 100 } } } } },
    async (req, reply) => render(req, reply, 'Projects', await listPage(req, req.query.org)));

  const AccountSecret = { type: 'object', properties: { _csrf: { type: 'string' }, orgId: { type: 'string', maxLength: 100 } }, required: ['_csrf', 'orgId'] } as const;
  r.post('/projects/account-secret', { attachValidation: true, schema: { body: AccountSecret } },
    async (req, reply) => attempt(req, reply, async () => {
      const { apiKey, apiSecret } = await s.domains.rotateAccountSecret(await portal.actor(req), req.body.orgId);
      return portal.done(req, reply, `/projects?org=${req.body.orgId}`, {
        notice: 'Account secret generated. Copy it now: it is shown only once and stored only as a hash.',
        secrets: [{ id: 'account-key-new', label: 'Account API key', value: apiKey }, { id: 'account-secret', label: 'Account API secret', value: apiSecret }],
        note: 'Account access tokens issued before it no longer work.',
      });
    }, async (failure) => render(req, reply, 'Projects', await listPage(req, req.body?.orgId, { failure }), failure.status)));

  // The service names fields as the Kandy wire does; the form names them as its inputs do.
  const FORM_FIELDS: Record<string, string> = { domain_name: 'domainName', project_name: 'projectName' };
  const inFormNames = (f: FormFailure): FormFailure => ({ ...f, fields: Object.fromEntries(Object.entries(f.fields).map(([k, v]) => [FORM_FIELDS[k] ?? k, v])) });

  r.post('/projects', {
    attachValidation: true,
    schema: {
      body: {
        type: 'object',
        properties: { _csrf: { type: 'string' }, orgId: { type: 'string', maxLength: 100 }, domainName: { type: 'string', maxLength: DOMAIN_NAME_MAX }, projectName: { type: 'string', maxLength: PROJECT_NAME_MAX } },
        required: ['_csrf', 'orgId', 'domainName'],
      },
    },
  }, async (req, reply) => attempt(req, reply, async () => {
    const { domain, apiSecret } = await s.domains.createDomainAsActor(await portal.actor(req), req.body.orgId, { domain_name: req.body.domainName, project_name: req.body.projectName });
    return portal.done(req, reply, `/projects/${domain.id}`, secretFlash(domain, apiSecret, true));
  }, async (failure) => render(req, reply, 'Projects', await listPage(req, req.body?.orgId, { failure: inFormNames(failure), form: req.body ?? {} }), failure.status)));

  r.get('/projects/:id', { schema: { params: Id } }, async (req, reply) => {
    const domain = await s.domains.domainForActor(await portal.actor(req), req.params.id);
    return render(req, reply, domain.project_name, await detailPage(req, domain.id), 200, [['Projects', `/projects?org=${domain.org_id}`], [domain.project_name]]);
  });

  r.post('/projects/:id/rotate', { schema: { params: Id, body: CsrfOnly } }, async (req, reply) => {
    const { domain, apiSecret } = await s.domains.rotateDomainSecret(await portal.actor(req), req.params.id);
    return portal.done(req, reply, `/projects/${domain.id}`, secretFlash(domain, apiSecret, false));
  });

  r.post('/projects/:id/revoke', { schema: { params: Id, body: CsrfOnly } }, async (req, reply) => {
    const n = await s.domains.revokeTokensAsActor(await portal.actor(req), req.params.id);
    return portal.done(req, reply, `/projects/${req.params.id}`, { notice: `${count(n, 'access token')} revoked.` });
  });

  r.post('/projects/:id/delete', { schema: { params: Id, body: CsrfOnly } }, async (req, reply) => {
    const actor = await portal.actor(req);
    const domain = await s.domains.domainForActor(actor, req.params.id, true);
    await s.domains.deleteDomainAsActor(actor, domain.id);
    return portal.done(req, reply, `/projects?org=${domain.org_id}`, { notice: `Project ${domain.project_name} deleted; its users and tokens are gone.` });
  });
}
