// "Connectors" → "Add Connector" → name, description, permissions → "Create Connector" → the
// Connector ID and secret (the secret shown once). Rotate the secret; delete the connector.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html, type SafeHtml } from '../../lib/html.js';
import { csrfField, errorBox } from '../views/layout.js';
import { CsrfOnly, type Portal } from '../session.js';
import { attempt } from '../routes.js';
import { PERMISSIONS, PERMISSION_NAMES } from '../../connectors/permissions.js';
import type { Connector } from '../../connectors/connectors.service.js';
import { GRANT_TYPES } from '../../oauth/client-metadata.js';

const Id = { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] } as const;
const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
interface OAuthValues { clientType?: string; redirectUris?: string; grantTypes?: string[] }
// The OAuth fields of both connector forms; none is required.
const OAuthBody = {
  clientType: { type: 'string', maxLength: 20 }, redirectUris: { type: 'string', maxLength: 4000 },
  grantTypes: { anyOf: [{ type: 'string', maxLength: 40 }, { type: 'array', items: { type: 'string', maxLength: 40 }, maxItems: 5 }] },
} as const;

export async function connectorPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const s = portal.services;

  const HEADLINE = { created: 'Connector created.', rotated: 'New secret generated.', confidential: 'OAuth settings saved: the connector is now a confidential client.' };
  const secretBox = (c: Connector, secret: string, why: keyof typeof HEADLINE): SafeHtml => !secret ? html`<div class="notice" role="status">
<b>Connector created.</b> It is a public OAuth client: it has no secret and must use PKCE.
<label>Connector ID</label><span class="secret" id="connector-id">${c.id}</span></div>` : html`<div class="notice" role="status">
<b>${HEADLINE[why]}</b> Copy the secret now: it is shown only once and stored only as a hash.${why === 'rotated' ? ' The previous secret and every access token issued under it no longer work.' : ''}
<label>Connector ID</label><span class="secret" id="connector-id">${c.id}</span>
<label>Connector secret</label><span class="secret" id="connector-secret">${secret}</span></div>`;

  const detail = (c: Connector, csrf: string, extra?: SafeHtml) => html`<h1>${c.name}</h1>${extra ?? ''}
<div class="card"><p><b>Connector ID</b> <code id="connector-id-value">${c.id}</code></p><p class="muted">${c.description || 'No description.'}</p>
<p>${c.permissions.map((p) => html`<span class="tag">${p}</span>`)}</p>
<p><b>OAuth</b> <span class="tag">${c.client_type} client</span>${c.grant_types.map((g) => html`<span class="tag">${g}</span>`)}<br>
<span class="muted">Redirect URIs:</span> ${c.redirect_uris.length ? c.redirect_uris.map((u) => html`<code>${u}</code> `) : html`<span class="muted">none</span>`}
· <a href="/connectors/${c.id}/oauth">Edit OAuth settings</a></p>
${c.client_type === 'public' ? '' : html`<form class="inline" method="post" action="/connectors/${c.id}/rotate">${csrfField(csrf)}<button class="secondary" type="submit">Rotate secret</button></form>`}
<form class="inline" method="post" action="/connectors/${c.id}/delete">${csrfField(csrf)}<button class="danger" type="submit">Delete connector</button></form></div>
<p class="muted">Token service: <code>GET ${s.deps.config.publicUrl}/v1/accessToken</code> with headers <code>applicationId</code>, <code>applicationSecret</code>, <code>refreshToken</code>.</p>`;

  // The OAuth part of registration, and the whole of the OAuth settings page: one form, one set
  // of rules behind it (oauth/client-metadata.ts).
  const oauthFields = (v: OAuthValues) => html`<label for="clientType">Client type</label><select id="clientType" name="clientType"><option value="confidential">Confidential (a server that keeps a secret)</option><option value="public" ${v.clientType === 'public' ? 'selected' : ''}>Public (browser or native app, no secret, PKCE)</option></select>
<label for="redirectUris">Redirect URIs</label><textarea id="redirectUris" name="redirectUris" maxlength="4000" placeholder="https://app.example/callback">${v.redirectUris ?? ''}</textarea><p class="muted">One per line, matched exactly; for http://127.0.0.1 and http://[::1] any port is accepted (RFC 8252).</p>
<label>Grant types</label>${GRANT_TYPES.map((g) => html`<label class="check"><input type="checkbox" name="grantTypes" value="${g}" ${!v.grantTypes?.length || v.grantTypes.includes(g) ? 'checked' : ''}> <code>${g}</code></label>`)}`;

  const settingsForm = (c: Connector, csrf: string, v: OAuthValues, error?: string) => html`<h1>OAuth settings of ${c.name}</h1>${errorBox(error)}
<form method="post" action="/connectors/${c.id}/oauth" class="card">${csrfField(csrf)}${oauthFields(v)}
<p class="muted">Switching the client type revokes the connector's OAuth refresh tokens. Public clients have no secret, so the token service (<code>/v1/accessToken</code>) and client credentials stop working for them; switching to confidential shows a new secret once. Unticking <code>client_credentials</code> stops the access tokens it issued for good, even if it is ticked again later.</p>
<button type="submit">Save OAuth settings</button> <a href="/connectors/${c.id}">Cancel</a></form>`;

  const newForm = async (userId: string, csrf: string, v: { orgId?: string; name?: string; description?: string; permissions?: string[]; clientType?: string; redirectUris?: string; grantTypes?: string[] }, error?: string) => {
    const orgs = (await s.orgs.listForUser(userId)).filter((o) => o.role !== 'member');
    return html`<h1>Add Connector</h1>${errorBox(error)}
${orgs.length ? html`<form method="post" action="/connectors" class="card">${csrfField(csrf)}
<label for="org">Organisation</label><select id="org" name="orgId">${orgs.map((o) => html`<option value="${o.id}" ${o.id === v.orgId ? 'selected' : ''}>${o.name}</option>`)}</select>
<label for="name">Name</label><input id="name" type="text" name="name" value="${v.name ?? ''}" required maxlength="100">
<label for="description">Description</label><textarea id="description" name="description" maxlength="1000">${v.description ?? ''}</textarea>
<label>Permissions</label>${PERMISSION_NAMES.map((p) => html`<label class="check"><input type="checkbox" name="permissions" value="${p}" ${v.permissions?.includes(p) ? 'checked' : ''}> <span>${PERMISSIONS[p]}</span> <code>${p}</code></label>`)}
<h2>OAuth client</h2>${oauthFields(v)}
<button type="submit">Create Connector</button></form>` : html`<div class="card">You need to be an owner or admin of an <a href="/orgs">organisation</a> to register connectors.</div>`}`;
  };

  // ?org= narrows the list to one organisation (the organisation page links here).
  r.get('/connectors', { schema: { querystring: { type: 'object', properties: { org: { type: 'string', format: 'uuid' } } } } }, async (req, reply) => {
    const all = await s.connectors.listForActor(await portal.actor(req));
    const list = req.query.org ? all.filter((c) => c.org_id === req.query.org) : all;
    return portal.render(reply, portal.ctx(req, 'Connectors', 'connectors'), html`<h1>Connectors</h1><p><a class="button" href="/connectors/new">Add Connector</a>${req.query.org ? html` <a href="/connectors">All organisations</a>` : ''}</p>
<table><tr><th>Name</th><th>Organisation</th><th>Connector ID</th><th>Permissions</th></tr>
${list.map((c) => html`<tr><td><a href="/connectors/${c.id}">${c.name}</a></td><td>${c.org_name}</td><td><code>${c.id}</code></td><td>${c.permissions.map((p) => html`<span class="tag">${p}</span>`)}</td></tr>`)}
${list.length ? '' : html`<tr><td colspan="4" class="muted">No connectors yet.</td></tr>`}</table>`);
  });

  r.get('/connectors/new', async (req, reply) =>
    portal.render(reply, portal.ctx(req, 'Add Connector', 'connectors'), await newForm(req.user!.id, req.csrfToken!, {})));

  r.post('/connectors', {
    schema: {
      body: {
        type: 'object',
        properties: {
          _csrf: { type: 'string' }, orgId: { type: 'string', maxLength: 100 }, name: { type: 'string', maxLength: 200 },
          description: { type: 'string', maxLength: 2000 },
          permissions: { anyOf: [{ type: 'string', maxLength: 100 }, { type: 'array', items: { type: 'string', maxLength: 100 }, maxItems: 50 }] },
          ...OAuthBody,
        },
        required: ['_csrf', 'orgId', 'name'],
      },
    },
  }, async (req, reply) => {
    const permissions = asList(req.body.permissions);
    const grantTypes = asList(req.body.grantTypes);
    return attempt(reply, async () => {
      const { connector, secret } = await s.connectors.create(await portal.actor(req), req.body.orgId, { ...req.body, permissions, grantTypes });
      return portal.render(reply, portal.ctx(req, connector.name, 'connectors'), detail(connector, req.csrfToken!, secretBox(connector, secret, 'created')), 201);
    }, async (message, status) => portal.render(reply, portal.ctx(req, 'Add Connector', 'connectors'), await newForm(req.user!.id, req.csrfToken!, { ...req.body, permissions, grantTypes }, message), status));
  });

  r.get('/connectors/:id', { schema: { params: Id } }, async (req, reply) => {
    const c = await s.connectors.getManaged(await portal.actor(req), req.params.id);
    return portal.render(reply, portal.ctx(req, c.name, 'connectors'), detail(c, req.csrfToken!));
  });

  r.get('/connectors/:id/oauth', { schema: { params: Id } }, async (req, reply) => {
    const c = await s.connectors.getManaged(await portal.actor(req), req.params.id);
    return portal.render(reply, portal.ctx(req, `OAuth settings of ${c.name}`, 'connectors'),
      settingsForm(c, req.csrfToken!, { clientType: c.client_type, redirectUris: c.redirect_uris.join('\n'), grantTypes: c.grant_types }));
  });

  r.post('/connectors/:id/oauth', {
    schema: { params: Id, body: { type: 'object', properties: { _csrf: { type: 'string' }, ...OAuthBody }, required: ['_csrf'] } },
  }, async (req, reply) => {
    const actor = await portal.actor(req);
    const grantTypes = asList(req.body.grantTypes);
    return attempt(reply, async () => {
      const { connector, secret } = await s.connectors.updateOAuth(actor, req.params.id, { ...req.body, grantTypes });
      const saved = html`<div class="notice" role="status"><b>OAuth settings saved.</b></div>`;
      return portal.render(reply, portal.ctx(req, connector.name, 'connectors'), detail(connector, req.csrfToken!, secret ? secretBox(connector, secret, 'confidential') : saved));
    }, async (message, status) => {
      const c = await s.connectors.getManaged(actor, req.params.id);
      return portal.render(reply, portal.ctx(req, `OAuth settings of ${c.name}`, 'connectors'), settingsForm(c, req.csrfToken!, { ...req.body, grantTypes }, message), status);
    });
  });

  r.post('/connectors/:id/rotate', { schema: { params: Id, body: CsrfOnly } }, async (req, reply) => {
    const actor = await portal.actor(req);
    const secret = await s.connectors.rotateSecret(actor, req.params.id);
    const c = await s.connectors.getManaged(actor, req.params.id);
    return portal.render(reply, portal.ctx(req, c.name, 'connectors'), detail(c, req.csrfToken!, secretBox(c, secret, 'rotated')));
  });

  r.post('/connectors/:id/delete', { schema: { params: Id, body: CsrfOnly } }, async (req, reply) => {
    await s.connectors.delete(await portal.actor(req), req.params.id);
    return reply.redirect('/connectors', 303);
  });
}
