// Platforms of an organisation (the Zaikio seed): register one (technical name, display name,
// logo, colour, support contact, platform app), edit or delete it, see its members; and a
// person's own platform memberships, which they can leave.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html, type SafeHtml } from '../../lib/html.js';
import { copyable, count, csrfField, table } from '../views/layout.js';
import { CsrfOnly, serveUploadForms, type Portal } from '../session.js';
import { attempt, failureBox, field, fieldError, type FormFailure } from '../forms.js';
import { can, type Actor } from '../../auth/policy.js';
import { DISPLAY_NAME_MAX, SUPPORT_MAX, type Platform, type PlatformInput } from '../../platforms/platforms.service.js';
import { LOGO_MAX_BYTES } from '../../platforms/logo.js';
import type { MemberType } from '../../db/schema.js';

const Uuid = { type: 'string', format: 'uuid' } as const;
const OrgId = { type: 'object', properties: { orgId: Uuid }, required: ['orgId'] } as const;
const Id = { type: 'object', properties: { id: Uuid }, required: ['id'] } as const;
const MemberParams = { type: 'object', properties: { id: Uuid, type: { type: 'string', enum: ['Person', 'Organization'] }, memberId: Uuid }, required: ['id', 'type', 'memberId'] } as const;
const PER_PAGE = 25;

// The fields of both platform forms (multipart: the logo is a file).
const PlatformBody = {
  type: 'object',
  properties: {
    _csrf: { type: 'string' }, name: { type: 'string', maxLength: 40 }, display_name: { type: 'string', maxLength: DISPLAY_NAME_MAX },
    primary_color: { type: 'string', maxLength: 7 }, support_contact: { type: 'string', maxLength: SUPPORT_MAX }, connector_id: { type: 'string', maxLength: 36 },
    logo_url: { type: 'string', maxLength: 2000 }, logo: {}, remove_logo: { type: 'string', maxLength: 3 }, webhook_url: { type: 'string', maxLength: 2000 },
  },
  required: ['_csrf', 'display_name', 'primary_color', 'connector_id'],
} as const;
type PlatformForm = { name?: string; display_name?: string; primary_color?: string; support_contact?: string; connector_id?: string; logo_url?: string; logo?: unknown; remove_logo?: string; webhook_url?: string };

const input = (b: PlatformForm): PlatformInput => ({
  name: b.name ?? '', displayName: b.display_name ?? '', primaryColor: b.primary_color ?? '', supportContact: b.support_contact, connectorId: b.connector_id ?? '',
  logoUrl: b.logo_url, logo: Buffer.isBuffer(b.logo) ? b.logo : undefined, removeLogo: b.remove_logo === 'yes', webhookUrl: b.webhook_url,
});

export async function platformPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const s = portal.services;
  const base = s.deps.config.publicUrl;

  const logoOf = (p: Platform): string | null => (p.has_logo ? `/${p.name}/logo?v=${p.updated_at}` : p.logo_url);

  const platformFields = async (actor: Actor, orgId: string, csrf: string, v: PlatformForm, failure: FormFailure | undefined, existing?: Platform) => {
    const connectors = (await s.connectors.listForActor(actor)).filter((c) => c.org_id === orgId);
    return html`${csrfField(csrf)}
${existing ? html`<label>Technical name</label><p><code>${existing.name}</code> <span class="muted">(fixed: links use it)</span></p>`
    : field({ name: 'name', label: 'Technical name', value: v.name, required: true, maxLength: 40, placeholder: 'acme', hint: 'Lowercase letters, digits, - or _: the address of its pages, /{name}/oauth/authorize. It cannot be changed later.' }, failure)}
${field({ name: 'display_name', label: 'Display name', value: v.display_name, required: true, maxLength: DISPLAY_NAME_MAX, placeholder: 'Acme Print' }, failure)}
<label for="f-primary_color">Primary colour</label><input type="color" id="f-primary_color" name="primary_color" value="${v.primary_color ?? '#2f5bd3'}">${fieldError('primary_color', failure)}
${field({ name: 'support_contact', label: 'Support contact', value: v.support_contact, maxLength: SUPPORT_MAX, placeholder: 'support@acme.example or https://acme.example/help', hint: 'Shown on its pages: an e-mail address or an https URL.' }, failure)}
<label for="f-connector_id">Platform app</label><select id="f-connector_id" name="connector_id" required>${connectors.map((c) => html`<option value="${c.id}" ${v.connector_id === c.id ? 'selected' : ''}>${c.name}</option>`)}</select>
${connectors.length ? html`<p class="muted">The OAuth client of its sign-in pages: register its redirect URIs on the connector.</p>` : html`<p class="field-error">The organisation has no connector yet: <a href="/connectors/new">register one</a> first.</p>`}${fieldError('connector_id', failure)}
<label for="f-logo">Logo</label><input type="file" id="f-logo" name="logo" accept="image/png,image/jpeg,image/gif,image/webp">${fieldError('logo', failure)}
<p class="muted">PNG, JPEG, GIF or WebP, at most ${LOGO_MAX_BYTES / 1024} KB; or an address:</p>
${field({ name: 'logo_url', label: 'Logo URL', type: 'url', value: v.logo_url, maxLength: 2000, placeholder: 'https://acme.example/logo.png' }, failure)}
${existing && logoOf(existing) ? html`<p><img src="${logoOf(existing)!}" alt="Current logo" style="max-height:48px"></p><label class="check"><input type="checkbox" name="remove_logo" value="yes"> Remove the logo</label>` : ''}
${field({ name: 'webhook_url', label: 'Event endpoint', type: 'url', value: v.webhook_url, maxLength: 2000, placeholder: 'https://acme.example/tessera/events', hint: 'Optional: membership created and ended are POSTed here, signed (Standard Webhooks and X-Loom-Signature).' }, failure)}
${existing ? html`<label>Event signing secret</label>${copyable('platform-signing-secret', s.platforms.eventSigningSecret(existing), true)}` : ''}`;
  };

  const listPage = async (actor: Actor, orgId: string, csrf: string, v: PlatformForm = {}, failure?: FormFailure) => {
    const org = await s.orgs.get(actor, orgId);
    const list = await s.platforms.listForOrg(actor, orgId);
    const admin = can(actor, 'org.manage_platforms', { orgId });
    return html`<h1>Platforms of ${org.name}</h1>${failureBox(failure)}
<p class="muted">A platform is a white-label sign-up for your product: people and organisations become its members through <code>/{name}/oauth/authorize</code>, in its own name, logo and colour.</p>
${table(html`<tr><th>Platform</th><th>Technical name</th><th>Sign-up address</th></tr>
${list.map((p) => html`<tr><td><a href="/platforms/${p.id}">${p.display_name}</a></td><td><code>${p.name}</code></td><td><code>${base}/${p.name}/oauth/authorize</code></td></tr>`)}
${list.length ? '' : html`<tr><td colspan="3" class="muted">No platform yet.</td></tr>`}`)}
${admin ? html`<div class="card" style="margin-top:18px"><h2 style="margin-top:0">Register a platform</h2>
<form method="post" action="/orgs/${orgId}/platforms" enctype="multipart/form-data">${await platformFields(actor, orgId, csrf, v, failure)}
<button type="submit">Register platform</button></form></div>` : html`<p class="muted">Owners and admins of the organisation register platforms.</p>`}`;
  };

  const detailPage = async (req: FastifyRequest, actor: Actor, p: Platform, failure?: FormFailure, v?: PlatformForm) => {
    const q = req.query as { q?: string; type?: string; page?: number };
    const admin = can(actor, 'org.manage_platforms', { orgId: p.org_id });
    const page = Math.max(1, q.page ?? 1);
    const type = q.type === 'Person' || q.type === 'Organization' ? q.type as MemberType : undefined;
    const members = admin ? await s.memberships.list(actor, p, { q: q.q, type, page, perPage: PER_PAGE }) : undefined;
    const pages = members ? Math.max(1, Math.ceil(members.total / PER_PAGE)) : 1;
    const link = (n: number) => `/platforms/${p.id}?${new URLSearchParams({ ...(q.q ? { q: q.q } : {}), ...(type ? { type } : {}), page: String(n) }).toString()}#members`;
    const values: PlatformForm = v ?? { display_name: p.display_name, primary_color: p.primary_color, support_contact: p.support_contact ?? '', connector_id: p.connector_id, logo_url: p.logo_url ?? '', webhook_url: p.webhook_url ?? '' };
    return html`<h1>${p.display_name}</h1>${failureBox(failure)}
<div class="card"><p><b>Sign-up address</b></p>${copyable('platform-url', `${base}/${p.name}/oauth/authorize`)}
<p class="muted">Send people to <code>/${p.name}/oauth/authorize?client_id=…&amp;redirect_uri=…&amp;scope=directory.platform_membership.rw&amp;prompt=signup</code>; tokens come from <code>/${p.name}/oauth/access_token</code>.</p></div>
${members ? html`<h2 id="members">Members <span class="muted">(${count(members.total, 'member')})</span></h2>
<form method="get" action="/platforms/${p.id}" class="card"><label for="member-q">Search by name or e-mail</label><input type="text" id="member-q" name="q" value="${q.q ?? ''}" maxlength="200">
<label for="member-type">Kind</label><select id="member-type" name="type"><option value="">Persons and organisations</option><option value="Person" ${type === 'Person' ? 'selected' : ''}>Persons</option><option value="Organization" ${type === 'Organization' ? 'selected' : ''}>Organisations</option></select>
<button type="submit">Search</button></form>
${table(html`<tr><th>Member</th><th>Kind</th><th>Joined</th><th>How</th><th></th></tr>
${members.rows.map((m) => html`<tr><td>${m.name}${m.email ? html`<br><span class="muted">${m.email}</span>` : ''}</td><td>${m.member_type === 'Person' ? 'person' : 'organisation'}</td><td>${new Date(m.created_at).toISOString().slice(0, 16).replace('T', ' ')}</td><td>${m.joined_via}</td>
<td><form class="inline" method="post" action="/platforms/${p.id}/members/${m.member_type}/${m.member_id}/remove">${csrfField(req.csrfToken!)}<button class="danger" type="submit" aria-label="End the membership of ${m.name}">End membership</button></form></td></tr>`)}
${members.rows.length ? '' : html`<tr><td colspan="5" class="muted">${q.q || type ? 'No member matches.' : 'No member yet.'}</td></tr>`}`)}
${pages > 1 ? html`<p class="muted">Page ${page} of ${pages} ${page > 1 ? html`· <a href="${link(page - 1)}">Previous</a>` : ''} ${page < pages ? html`· <a href="${link(page + 1)}">Next</a>` : ''}</p>` : ''}` : ''}
${admin ? html`<h2>Settings</h2><form method="post" action="/platforms/${p.id}" enctype="multipart/form-data" class="card">${await platformFields(actor, p.org_id, req.csrfToken!, values, failure, p)}
<button type="submit">Save platform</button></form>
<form method="post" action="/platforms/${p.id}/delete" class="card">${csrfField(req.csrfToken!)}<p>Deleting the platform ends every membership; its app and the app's grants stay.</p><button class="danger" type="submit">Delete platform</button></form>` : ''}
<p><a href="/orgs/${p.org_id}/private-tokens">Private access tokens</a> of the organisation call the Platform API.</p>`;
  };

  const renderDetail = async (req: FastifyRequest, reply: FastifyReply, id: string, failure?: FormFailure) => {
    const actor = await portal.actor(req);
    const p = await s.platforms.get(actor, id);
    const org = await s.orgs.get(actor, p.org_id);
    return portal.render(reply, portal.ctx(req, p.display_name, 'organisations', [[org.name, `/orgs/${org.id}`], ['Platforms', `/orgs/${org.id}/platforms`], [p.display_name]]),
      await detailPage(req, actor, p, failure, failure ? req.body as PlatformForm : undefined), failure?.status ?? 200);
  };

  const renderList = async (req: FastifyRequest, reply: FastifyReply, orgId: string, failure?: FormFailure) => {
    const actor = await portal.actor(req);
    const org = await s.orgs.get(actor, orgId);
    return portal.render(reply, portal.ctx(req, `Platforms of ${org.name}`, 'organisations', [[org.name, `/orgs/${org.id}`], ['Platforms']]),
      await listPage(actor, orgId, req.csrfToken!, failure ? req.body as PlatformForm : {}, failure), failure?.status ?? 200);
  };

  r.get('/orgs/:orgId/platforms', { schema: { params: OrgId } }, async (req, reply) => renderList(req, reply, req.params.orgId));

  r.get('/platforms/:id', {
    schema: { params: Id, querystring: { type: 'object', properties: { q: { type: 'string', maxLength: 200 }, type: { type: 'string', maxLength: 20 }, page: { type: 'integer', minimum: 1, maximum: 100000 } } } },
  }, async (req, reply) => renderDetail(req, reply, req.params.id));

  r.post('/platforms/:id/delete', { attachValidation: true, schema: { params: Id, body: CsrfOnly } }, async (req, reply) => attempt(req, reply, async () => {
    const p = await s.platforms.delete(await portal.actor(req), req.params.id);
    return portal.done(req, reply, `/orgs/${p.org_id}/platforms`, { notice: `Platform ${p.display_name} deleted.` });
  }, (failure) => renderDetail(req, reply, req.params.id, failure)));

  r.post('/platforms/:id/members/:type/:memberId/remove', { attachValidation: true, schema: { params: MemberParams, body: CsrfOnly } }, async (req, reply) => attempt(req, reply, async () => {
    const actor = await portal.actor(req);
    const p = await s.platforms.get(actor, req.params.id, true);
    await s.platformApi.end(p, req.params.type as MemberType, req.params.memberId);
    return portal.done(req, reply, `/platforms/${p.id}#members`, { notice: 'Membership ended.' });
  }, (failure) => renderDetail(req, reply, req.params.id, failure)));

  // The two forms that carry a logo.
  await app.register(async (uploads) => {
    await serveUploadForms(uploads, portal, LOGO_MAX_BYTES);
    const u = uploads.withTypeProvider<JsonSchemaToTsProvider>();
    u.post('/orgs/:orgId/platforms', { attachValidation: true, schema: { params: OrgId, body: PlatformBody } }, async (req, reply) => attempt(req, reply, async () => {
      const p = await s.platforms.create(await portal.actor(req), req.params.orgId, input(req.body as PlatformForm));
      return portal.done(req, reply, `/platforms/${p.id}`, { notice: `Platform ${p.display_name} registered: its pages are at /${p.name}/.` });
    }, (failure) => renderList(req, reply, req.params.orgId, failure)));

    u.post('/platforms/:id', { attachValidation: true, schema: { params: Id, body: PlatformBody } }, async (req, reply) => attempt(req, reply, async () => {
      const p = await s.platforms.update(await portal.actor(req), req.params.id, input(req.body as PlatformForm));
      return portal.done(req, reply, `/platforms/${p.id}`, { notice: 'Platform saved.' });
    }, (failure) => renderDetail(req, reply, req.params.id, failure)));
  });

  // ---- a person's memberships ----

  const membershipsPage = async (req: FastifyRequest, failure?: FormFailure): Promise<SafeHtml> => {
    const rows = await s.memberships.ofPerson(req.user!.id);
    return html`<h1>Platform memberships</h1>${failureBox(failure)}
<p class="muted">Platforms you joined, yourself or through an organisation you are in. Leaving one withdraws its app's access to your account.</p>
${table(html`<tr><th>Platform</th><th>Member</th><th>Joined</th><th>How</th><th></th></tr>
${rows.map((m) => html`<tr><td>${m.display_name} <code>${m.name}</code></td><td>${m.member_type === 'Person' ? 'you' : html`${m.org_name} <span class="muted">(organisation)</span>`}</td>
<td>${new Date(m.created_at).toISOString().slice(0, 10)}</td><td>${m.joined_via}</td>
<td><form class="inline" method="post" action="/memberships/${m.platform_id}/${m.member_type}/${m.member_id}/leave">${csrfField(req.csrfToken!)}<button class="danger" type="submit" aria-label="Leave ${m.display_name}">${m.member_type === 'Person' ? 'Leave' : 'Take the organisation out'}</button></form></td></tr>`)}
${rows.length ? '' : html`<tr><td colspan="5" class="muted">You are not a member of any platform.</td></tr>`}`)}`;
  };

  r.get('/memberships', async (req, reply) => portal.render(reply, portal.ctx(req, 'Platform memberships', 'memberships'), await membershipsPage(req)));

  const LeaveParams = { type: 'object', properties: { platformId: Uuid, type: { type: 'string', enum: ['Person', 'Organization'] }, memberId: Uuid }, required: ['platformId', 'type', 'memberId'] } as const;
  r.post('/memberships/:platformId/:type/:memberId/leave', { attachValidation: true, schema: { params: LeaveParams, body: CsrfOnly } }, async (req, reply) => attempt(req, reply, async () => {
    const actor = await portal.actor(req);
    const platform = await s.platforms.byId(req.params.platformId);
    if (!platform) return portal.done(req, reply, '/memberships');
    await s.memberships.leave(actor, platform, req.params.type as MemberType, req.params.memberId);
    return portal.done(req, reply, '/memberships', { notice: req.params.type === 'Person' ? `You left ${platform.display_name}.` : `The organisation is no longer a member of ${platform.display_name}.` });
  }, async (failure) => portal.render(reply, portal.ctx(req, 'Platform memberships', 'memberships'), await membershipsPage(req, failure), failure.status)));
}
