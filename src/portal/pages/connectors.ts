// "Connectors" → "Add Connector" → name, description, permissions → "Create Connector" → the
// Connector ID and secret (the secret shown once). Rotate the secret; delete the connector.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html } from '../../lib/html.js';
import { copyable, csrfField, table, type Flash } from '../views/layout.js';
import { CsrfOnly, type Portal } from '../session.js';
import { attempt, failureBox, field, fieldError, type FormFailure } from '../forms.js';
import { PERMISSIONS, PERMISSION_NAMES } from '../../connectors/permissions.js';
import { CONNECTOR_DESCRIPTION_MAX, CONNECTOR_NAME_MAX, type Connector } from '../../connectors/connectors.service.js';
import { GRANT_TYPES } from '../../oauth/client-metadata.js';

const Id = { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] } as const;
const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
interface OAuthValues { clientType?: string; redirectUris?: string; grantTypes?: string[] }
// The OAuth fields of both connector forms; none is required.
const REDIRECT_URIS_MAX = 4000;
const OAuthBody = {
  clientType: { type: 'string', maxLength: 20 }, redirectUris: { type: 'string', maxLength: REDIRECT_URIS_MAX },
  grantTypes: { anyOf: [{ type: 'string', maxLength: 40 }, { type: 'array', items: { type: 'string', maxLength: 40 }, maxItems: 5 }] },
} as const;

export async function connectorPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const s = portal.services;

  /** The one-time message after a secret was made: the ID and the secret, each with a copy button. */
  const secretFlash = (c: Connector, secret: string, notice: string): Flash => (secret ? {
    notice: `${notice} Copy the secret now: it is shown only once and stored only as a hash.`,
    secrets: [{ id: 'connector-id', label: 'Connector ID', value: c.id }, { id: 'connector-secret', label: 'Connector secret', value: secret }],
  } : {
    notice: `${notice} It is a public OAuth client: it has no secret and must use PKCE.`,
    secrets: [{ id: 'connector-id', label: 'Connector ID', value: c.id }],
  });
  const crumbs = (c: Connector, last?: string): [string, string?][] => [
    [c.org_name ?? 'Organisation', `/orgs/${c.org_id}`], ['Connectors', `/connectors?org=${c.org_id}`], ...(last ? [[c.name, `/connectors/${c.id}`], [last]] as [string, string?][] : [[c.name]] as [string, string?][]),
  ];

  const detail = (c: Connector, csrf: string) => html`<h1>${c.name}</h1>
<div class="card"><p><b>Connector ID</b></p>${copyable('connector-id-value', c.id)}<p class="muted">${c.description || 'No description.'}</p>
<p>${c.permissions.map((p) => html`<span class="tag">${p}</span>`)}</p>
<p><b>OAuth</b> <span class="tag">${c.client_type} client</span>${c.grant_types.map((g) => html`<span class="tag">${g}</span>`)}<br>
<span class="muted">Redirect URIs:</span> ${c.redirect_uris.length ? c.redirect_uris.map((u) => html`<code>${u}</code> `) : html`<span class="muted">none</span>`}
· <a href="/connectors/${c.id}/oauth">Edit OAuth settings</a></p>
${c.client_type === 'public' ? '' : html`<form class="inline" method="post" action="/connectors/${c.id}/rotate">${csrfField(csrf)}<button class="secondary" type="submit">Rotate secret</button></form>`}
<form class="inline" method="post" action="/connectors/${c.id}/delete">${csrfField(csrf)}<button class="danger" type="submit">Delete connector</button></form></div>
<p class="muted">Token service: <code>GET ${s.deps.config.publicUrl}/v1/accessToken</code> with headers <code>applicationId</code>, <code>applicationSecret</code>, <code>refreshToken</code>.</p>`;

  // The OAuth part of registration, and the whole of the OAuth settings page: one form, one set
  // of rules behind it (oauth/client-metadata.ts).
  const oauthFields = (v: OAuthValues, failure?: FormFailure) => html`<label for="clientType">Client type</label><select id="clientType" name="clientType"><option value="confidential">Confidential (a server that keeps a secret)</option><option value="public" ${v.clientType === 'public' ? 'selected' : ''}>Public (browser or native app, no secret, PKCE)</option></select>${fieldError('clientType', failure)}
${field({ name: 'redirectUris', label: 'Redirect URIs', value: v.redirectUris, maxLength: REDIRECT_URIS_MAX, multiline: true, placeholder: 'https://app.example/callback', hint: 'One per line, matched exactly; for http://127.0.0.1 and http://[::1] any port is accepted (RFC 8252).' }, failure)}
<label>Grant types</label>${GRANT_TYPES.map((g) => html`<label class="check"><input type="checkbox" name="grantTypes" value="${g}" ${!v.grantTypes?.length || v.grantTypes.includes(g) ? 'checked' : ''}> <code>${g}</code></label>`)}${fieldError('grantTypes', failure)}`;

  const settingsForm = (c: Connector, csrf: string, v: OAuthValues, failure?: FormFailure) => html`<h1>OAuth settings of ${c.name}</h1>${failureBox(failure)}
<form method="post" action="/connectors/${c.id}/oauth" class="card">${csrfField(csrf)}${oauthFields(v, failure)}
<p class="muted">Switching the client type revokes the connector's OAuth refresh tokens. Public clients have no secret, so the token service (<code>/v1/accessToken</code>) and client credentials stop working for them; switching to confidential shows a new secret once. Unticking <code>client_credentials</code> stops the access tokens it issued for good, even if it is ticked again later.</p>
<button type="submit">Save OAuth settings</button> <a href="/connectors/${c.id}">Cancel</a></form>`;

  const newForm = async (userId: string, csrf: string, v: { orgId?: unknown; name?: unknown; description?: unknown; permissions?: string[]; clientType?: string; redirectUris?: string; grantTypes?: string[] }, failure?: FormFailure) => {
    const orgs = (await s.orgs.listForUser(userId)).filter((o) => o.role !== 'member');
    return html`<h1>Add Connector</h1>${failureBox(failure)}
${orgs.length ? html`<form method="post" action="/connectors" class="card">${csrfField(csrf)}
<label for="org">Organisation</label><select id="org" name="orgId">${orgs.map((o) => html`<option value="${o.id}" ${o.id === v.orgId ? 'selected' : ''}>${o.name}</option>`)}</select>${fieldError('orgId', failure)}
${field({ name: 'name', label: 'Name', value: v.name, required: true, maxLength: CONNECTOR_NAME_MAX }, failure)}
${field({ name: 'description', label: 'Description', value: v.description, maxLength: CONNECTOR_DESCRIPTION_MAX, multiline: true }, failure)}
<label>Permissions</label>${PERMISSION_NAMES.map((p) => html`<label class="check"><input type="checkbox" name="permissions" value="${p}" ${v.permissions?.includes(p) ? 'checked' : ''}> <span>${PERMISSIONS[p]}</span> <code>${p}</code></label>`)}${fieldError('permissions', failure)}
<h2>OAuth client</h2>${oauthFields(v, failure)}
<button type="submit">Create Connector</button></form>` : html`<div class="card">You need to be an owner or admin of an <a href="/orgs">organisation</a> to register connectors.</div>`}`;
  };

  // ?org= narrows the list to one organisation (the organisation page links here).
  r.get('/connectors', { schema: { querystring: { type: 'object', properties: { org: { type: 'string', format: 'uuid' } } } } }, async (req, reply) => {
    const all = await s.connectors.listForActor(await portal.actor(req));
    const list = req.query.org ? all.filter((c) => c.org_id === req.query.org) : all;
    return portal.render(reply, portal.ctx(req, 'Connectors', 'connectors'), html`<h1>Connectors</h1><p><a class="button" href="/connectors/new">Add Connector</a>${req.query.org ? html` <a href="/connectors">All organisations</a>` : ''}</p>
${table(html`<tr><th>Name</th><th>Organisation</th><th>Connector ID</th><th>Permissions</th></tr>
${list.map((c) => html`<tr><td><a href="/connectors/${c.id}">${c.name}</a></td><td>${c.org_name}</td><td>${copyable(`id-${c.id}`, c.id)}</td><td>${c.permissions.map((p) => html`<span class="tag">${p}</span>`)}</td></tr>`)}
${list.length ? '' : html`<tr><td colspan="4" class="muted">No connectors yet.</td></tr>`}`)}`);
  });

  r.get('/connectors/new', async (req, reply) =>
    portal.render(reply, portal.ctx(req, 'Add Connector', 'connectors'), await newForm(req.user!.id, req.csrfToken!, {})));

  r.post('/connectors', {
    attachValidation: true,
    schema: {
      body: {
        type: 'object',
        properties: {
          _csrf: { type: 'string' }, orgId: { type: 'string', maxLength: 100 }, name: { type: 'string', maxLength: CONNECTOR_NAME_MAX },
          description: { type: 'string', maxLength: CONNECTOR_DESCRIPTION_MAX },
          permissions: { anyOf: [{ type: 'string', maxLength: 100 }, { type: 'array', items: { type: 'string', maxLength: 100 }, maxItems: 50 }] },
          ...OAuthBody,
        },
        required: ['_csrf', 'orgId', 'name'],
      },
    },
  }, async (req, reply) => {
    const body = req.body ?? {};
    const permissions = asList(body.permissions);
    const grantTypes = asList(body.grantTypes);
    return attempt(req, reply, async () => {
      const { connector, secret } = await s.connectors.create(await portal.actor(req), body.orgId, { ...body, permissions, grantTypes });
      return portal.done(req, reply, `/connectors/${connector.id}`, secretFlash(connector, secret, 'Connector created.'));
    }, async (failure) => portal.render(reply, portal.ctx(req, 'Add Connector', 'connectors'), await newForm(req.user!.id, req.csrfToken!, { ...body, permissions, grantTypes }, failure), failure.status));
  });

  r.get('/connectors/:id', { schema: { params: Id } }, async (req, reply) => {
    const c = await s.connectors.getManaged(await portal.actor(req), req.params.id);
    return portal.render(reply, portal.ctx(req, c.name, 'connectors', crumbs(c)), detail(c, req.csrfToken!));
  });

  r.get('/connectors/:id/oauth', { schema: { params: Id } }, async (req, reply) => {
    const c = await s.connectors.getManaged(await portal.actor(req), req.params.id);
    return portal.render(reply, portal.ctx(req, `OAuth settings of ${c.name}`, 'connectors', crumbs(c, 'OAuth settings')),
      settingsForm(c, req.csrfToken!, { clientType: c.client_type, redirectUris: c.redirect_uris.join('\n'), grantTypes: c.grant_types }));
  });

  r.post('/connectors/:id/oauth', {
    attachValidation: true,
    schema: { params: Id, body: { type: 'object', properties: { _csrf: { type: 'string' }, ...OAuthBody }, required: ['_csrf'] } },
  }, async (req, reply) => {
    const actor = await portal.actor(req);
    const body = req.body ?? {};
    const grantTypes = asList(body.grantTypes);
    return attempt(req, reply, async () => {
      const { connector, secret } = await s.connectors.updateOAuth(actor, req.params.id, { ...body, grantTypes });
      return portal.done(req, reply, `/connectors/${connector.id}`, secret
        ? secretFlash(connector, secret, 'OAuth settings saved: the connector is now a confidential client.') : { notice: 'OAuth settings saved.' });
    }, async (failure) => {
      const c = await s.connectors.getManaged(actor, req.params.id);
      return portal.render(reply, portal.ctx(req, `OAuth settings of ${c.name}`, 'connectors', crumbs(c, 'OAuth settings')), settingsForm(c, req.csrfToken!, { ...body, grantTypes }, failure), failure.status);
    });
  });

  r.post('/connectors/:id/rotate', { schema: { params: Id, body: CsrfOnly } }, async (req, reply) => {
    const actor = await portal.actor(req);
    const secret = await s.connectors.rotateSecret(actor, req.params.id);
    const c = await s.connectors.getManaged(actor, req.params.id);
    const flash = secretFlash(c, secret, 'New secret generated.');
    return portal.done(req, reply, `/connectors/${c.id}`, { ...flash, note: 'The previous secret and every access token issued under it no longer work.' });
  });

  r.post('/connectors/:id/delete', { schema: { params: Id, body: CsrfOnly } }, async (req, reply) => {
    const actor = await portal.actor(req);
    const c = await s.connectors.getManaged(actor, req.params.id);
    await s.connectors.delete(actor, c.id);
    return portal.done(req, reply, '/connectors', { notice: `Connector ${c.name} deleted; its grants and tokens no longer work.` });
  });
}
