// Organisation → Manage private access tokens (Zaikio): owners make a token with a name, scopes
// and a lifetime of up to a year; the JWT is shown once; the list shows creation and last use;
// a token is revoked at once.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html } from '../../lib/html.js';
import { csrfField, table } from '../views/layout.js';
import { CsrfOnly, type Portal } from '../session.js';
import { attempt, failureBox, field, fieldError, type FormFailure } from '../forms.js';
import { MAX_LIFETIME_DAYS, TOKEN_NAME_MAX } from '../../private-tokens/private-tokens.service.js';

const Uuid = { type: 'string', format: 'uuid' } as const;
const OrgId = { type: 'object', properties: { orgId: Uuid }, required: ['orgId'] } as const;
const TokenParams = { type: 'object', properties: { orgId: Uuid, id: Uuid }, required: ['orgId', 'id'] } as const;
const NewToken = {
  type: 'object',
  properties: {
    _csrf: { type: 'string' }, name: { type: 'string', maxLength: TOKEN_NAME_MAX },
    scopes: { type: 'array', items: { type: 'string', maxLength: 60 }, maxItems: 10 },
    lifetime_days: { type: 'integer', minimum: 1, maximum: MAX_LIFETIME_DAYS },
  },
  required: ['_csrf', 'name', 'lifetime_days'],
} as const;

const SCOPE_LABELS: Record<string, string> = {
  'directory.organization.r': 'Read the organisation and its members',
  'directory.organization.rw': 'Read and change the organisation',
  'directory.platform.r': 'Read the platforms it owns and their members (Platform API)',
  'directory.platform.rw': 'Read and manage its platforms\' members, create organisations for them (Platform API)',
  'directory.audit_log.r': 'Read the organisation\'s audit log (GET /api/v1/organization/audit_events)',
};
const when = (ms: number | null): string => (ms === null ? '—' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));

export async function privateTokenPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const s = portal.services;

  const render = async (req: FastifyRequest, reply: FastifyReply, orgId: string, failure?: FormFailure) => {
    const actor = await portal.actor(req);
    const org = await s.orgs.get(actor, orgId);
    const [tokens, offered] = await Promise.all([s.privateTokens.list(actor, orgId), s.privateTokens.offeredScopes(orgId)]);
    const v = (failure ? req.body ?? {} : {}) as { name?: string; scopes?: string[]; lifetime_days?: number };
    const now = s.deps.clock.now();
    const state = (t: { revoked_at: number | null; expires_at: number }) => (t.revoked_at !== null ? html`<span class="tag warn">revoked</span>` : t.expires_at <= now ? html`<span class="tag">expired</span>` : html`<span class="tag ok">active</span>`);
    return portal.render(reply, portal.ctx(req, 'Private access tokens', 'organisations', [[org.name, `/orgs/${org.id}`], ['Private access tokens']]), html`<h1>Private access tokens of ${org.name}</h1>${failureBox(failure)}
<p class="muted">A private access token acts for the organisation on the directory and Platform API (<code>Authorization: Bearer …</code>) without an OAuth client. Only owners manage them.</p>
${table(html`<tr><th>Name</th><th>Scopes</th><th>Created</th><th>Last used</th><th>Expires</th><th></th></tr>
${tokens.map((t) => html`<tr><td>${t.name} ${state(t)}</td><td>${t.scope.split(' ').map((x) => html`<code>${x}</code> `)}</td><td>${when(t.created_at)}</td><td>${when(t.last_used_at)}</td><td>${when(t.expires_at)}</td>
<td>${t.revoked_at === null && t.expires_at > now ? html`<form class="inline" method="post" action="/orgs/${org.id}/private-tokens/${t.id}/revoke">${csrfField(req.csrfToken!)}<button class="danger" type="submit" aria-label="Revoke ${t.name}">Revoke</button></form>` : ''}</td></tr>`)}
${tokens.length ? '' : html`<tr><td colspan="6" class="muted">No private access token yet.</td></tr>`}`)}
<div class="card" style="margin-top:18px"><h2 style="margin-top:0">Create a private access token</h2>
<form method="post" action="/orgs/${org.id}/private-tokens">${csrfField(req.csrfToken!)}
${field({ name: 'name', label: 'Name', value: v.name, required: true, maxLength: TOKEN_NAME_MAX, placeholder: 'Billing integration' }, failure)}
<label>Scopes</label>${offered.map((sc) => html`<label class="check"><input type="checkbox" name="scopes" value="${sc}" ${v.scopes?.includes(sc) ? 'checked' : ''}> <code>${sc}</code> <span class="muted">${SCOPE_LABELS[sc] ?? ''}</span></label>`)}${fieldError('scopes', failure)}
<label for="f-lifetime_days">Lifetime (days)</label><input type="number" id="f-lifetime_days" name="lifetime_days" min="1" max="${MAX_LIFETIME_DAYS}" value="${String(v.lifetime_days ?? MAX_LIFETIME_DAYS)}" required>${fieldError('lifetime_days', failure)}
<button type="submit">Create token</button></form><p class="muted">The token is shown once; Tessera keeps only its id, so a lost token cannot be shown again: revoke it and make another.</p></div>`, failure?.status ?? 200);
  };

  r.get('/orgs/:orgId/private-tokens', { schema: { params: OrgId } }, async (req, reply) => render(req, reply, req.params.orgId));

  r.post('/orgs/:orgId/private-tokens', { attachValidation: true, schema: { params: OrgId, body: NewToken } }, async (req, reply) => attempt(req, reply, async () => {
    const { token, row } = await s.privateTokens.create(await portal.actor(req), req.params.orgId, { name: req.body.name, scopes: req.body.scopes ?? [], lifetimeDays: req.body.lifetime_days });
    return portal.done(req, reply, `/orgs/${req.params.orgId}/private-tokens`, {
      notice: `Private access token ${row.name} created. Copy it now: it is shown only once.`,
      secrets: [{ id: 'private-token', label: 'Private access token', value: token }],
    });
  }, (failure) => render(req, reply, req.params.orgId, failure)));

  r.post('/orgs/:orgId/private-tokens/:id/revoke', { attachValidation: true, schema: { params: TokenParams, body: CsrfOnly } }, async (req, reply) => attempt(req, reply, async () => {
    await s.privateTokens.revoke(await portal.actor(req), req.params.orgId, req.params.id);
    return portal.done(req, reply, `/orgs/${req.params.orgId}/private-tokens`, { notice: 'Token revoked: it is refused from now on.' });
  }, (failure) => render(req, reply, req.params.orgId, failure)));
}
