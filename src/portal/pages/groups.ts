// Conversation groups: members (by phone), the messages posted into the group, and the group's
// connectors — where a group admin grants access and receives the refresh token, shown once.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html, type SafeHtml } from '../../lib/html.js';
import { csrfField, errorBox } from '../views/layout.js';
import { CsrfOnly, type Portal } from '../session.js';
import { attempt } from '../routes.js';
import type { Actor } from '../../auth/policy.js';
import { GROUP_ROLES, listMembers, listMessages } from '../../orgs/orgs.service.js';

const Uuid = { type: 'string', format: 'uuid' } as const;
const GroupId = { type: 'object', properties: { groupId: Uuid }, required: ['groupId'] } as const;
const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

export async function groupPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const s = portal.services;

  const groupPage = async (actor: Actor, groupId: string, csrf: string, opts: { error?: string; issued?: SafeHtml } = {}) => {
    const group = await s.orgs.authorizeGroup(actor, groupId, 'group.read');
    const manage = await s.orgs.canManageGroup(actor, groupId);
    const [members, page, grants, orgConnectors] = await Promise.all([
      listMembers(s.deps.db, groupId), listMessages(s.deps.db, groupId, 50), s.grants.listForGroup(actor, groupId),
      manage ? s.connectors.listForOrg(group.org_id) : Promise.resolve([]),
    ]);
    return html`<h1>${group.name}</h1><p class="muted">Group ID <code>${group.id}</code>${group.welcome_message ? html` · ${group.welcome_message}` : ''}</p>
${errorBox(opts.error)}${opts.issued ?? ''}
<h2 id="connectors">Connectors</h2>
<table><tr><th>Connector</th><th>Permissions</th><th>Refresh token expires</th><th></th></tr>
${grants.map((g) => html`<tr><td>${g.connector_name} <span class="muted">(${g.connector_org_name})</span><br><code>${g.connector_id}</code></td>
<td>${g.permissions.map((p) => html`<span class="tag">${p}</span>`)}</td><td>${g.refresh_token_expires_at ? when(g.refresh_token_expires_at) : ''}</td>
<td>${manage ? html`<form class="inline" method="post" action="/groups/${group.id}/connectors">${csrfField(csrf)}<input type="hidden" name="connectorId" value="${g.connector_id}"><button class="secondary" type="submit">New refresh token</button></form>
<form class="inline" method="post" action="/groups/${group.id}/connectors/${g.id}/revoke">${csrfField(csrf)}<button class="danger" type="submit">Revoke</button></form>` : ''}</td></tr>`)}
${grants.length ? '' : html`<tr><td colspan="4" class="muted">No connector has access to this group.</td></tr>`}</table>
${manage ? html`<div class="card" style="margin-top:14px"><form method="post" action="/groups/${group.id}/connectors">${csrfField(csrf)}
<label for="connector-select">Connector</label><select id="connector-select" name="connectorId"><option value="">— choose a connector of this organisation —</option>
${orgConnectors.map((c) => html`<option value="${c.id}">${c.name}</option>`)}</select>
<label for="connector-id">…or any connector by its ID</label><input id="connector-id" type="text" name="connectorIdManual" placeholder="00000000-0000-0000-0000-000000000000">
<button type="submit">Add Connector</button></form></div>` : ''}
<h2 id="members">Members</h2><table><tr><th>Phone</th><th>Name</th><th>Role</th><th></th></tr>
${members.map((m) => html`<tr><td>${m.phone}</td><td>${m.isProvisioned ? m.name : html`<span class="tag warn">not provisioned</span>`}</td>
<td>${manage ? html`<form class="inline" method="post" action="/groups/${group.id}/members/${m.id}/role">${csrfField(csrf)}<select name="role" aria-label="Role of ${m.phone}">${GROUP_ROLES.map((r) => html`<option ${r === m.role ? 'selected' : ''}>${r}</option>`)}</select> <button class="secondary" type="submit">Change role</button></form>` : m.role}</td>
<td>${manage ? html`<form class="inline" method="post" action="/groups/${group.id}/members/${m.id}/delete">${csrfField(csrf)}<button class="secondary" type="submit">Remove</button></form>`
    : actor.phones.includes(m.phone) ? html`<form class="inline" method="post" action="/groups/${group.id}/members/${m.id}/delete">${csrfField(csrf)}<button class="secondary" type="submit">Leave group</button></form>` : ''}</td></tr>`)}
${members.length ? '' : html`<tr><td colspan="4" class="muted">No members.</td></tr>`}</table>
${manage ? html`<div class="card" style="margin-top:14px"><form method="post" action="/groups/${group.id}/members">${csrfField(csrf)}
<label for="member-phone">Add a member by phone number</label><input id="member-phone" type="tel" name="phone" placeholder="+14155550123" required>
<label for="member-role">Role</label><select id="member-role" name="role"><option>member</option><option>admin</option></select><button type="submit">Add member</button></form></div>` : ''}
<h2>Messages</h2><div class="card" id="messages">
${page.messages.map((m) => html`<div class="msg"><b>${m.sender_name}</b><span class="tag">${m.sender_type}</span><span class="muted">${when(m.created_at)}</span><div class="msg-text">${m.text}</div></div>`)}
${page.messages.length ? '' : html`<p class="muted">No messages yet.</p>`}
<form method="post" action="/groups/${group.id}/messages">${csrfField(csrf)}<label for="message">Post a message</label><textarea id="message" name="message" maxlength="4000" required></textarea><button type="submit">Post</button></form></div>`;
  };

  r.get('/groups', async (req, reply) => {
    const groups = await s.orgs.groupsForActor(await portal.actor(req));
    return portal.render(reply, portal.ctx(req, 'Groups', 'groups'), html`<h1>Groups</h1>
<table><tr><th>Group</th><th>Organisation</th></tr>${groups.map((g) => html`<tr><td><a href="/groups/${g.id}">${g.name}</a></td><td>${g.org_name}</td></tr>`)}
${groups.length ? '' : html`<tr><td colspan="2" class="muted">No groups. Create one from an <a href="/orgs">organisation</a>.</td></tr>`}</table>`);
  });

  r.get('/groups/:groupId', {
    schema: { params: GroupId, querystring: { type: 'object', properties: { revoked: { type: 'string', maxLength: 100 } } } },
  }, async (req, reply) => {
    const issued = req.query.revoked
      ? html`<div class="notice" role="status">Access revoked: ${req.query.revoked} can no longer use this group; its refresh token and access tokens stopped working.</div>`
      : undefined;
    return portal.render(reply, portal.ctx(req, 'Group', 'groups'), await groupPage(await portal.actor(req), req.params.groupId, req.csrfToken!, { issued }));
  });

  const onError = (req: { params: { groupId: string }; csrfToken?: string }, actor: Actor, reply: Parameters<typeof portal.render>[0], ctx: Parameters<typeof portal.render>[1]) =>
    async (message: string, status: number) => portal.render(reply, ctx, await groupPage(actor, req.params.groupId, req.csrfToken!, { error: message }), status);

  r.post('/groups/:groupId/connectors', {
    schema: {
      params: GroupId,
      body: {
        type: 'object',
        properties: { _csrf: { type: 'string' }, connectorId: { type: 'string', maxLength: 100 }, connectorIdManual: { type: 'string', maxLength: 100 } },
        required: ['_csrf'],
      },
    },
  }, async (req, reply) => {
    const actor = await portal.actor(req);
    const ctx = portal.ctx(req, 'Group', 'groups');
    return attempt(reply, async () => {
      const id = (req.body.connectorIdManual ?? '').trim() || (req.body.connectorId ?? '').trim();
      const issued = await s.grants.grant(actor, req.params.groupId, id);
      const box = html`<div class="notice" role="status"><b>Refresh token generated.</b> Copy it now and hand it to the connector's developer; it will not be shown again. Any earlier refresh token for this connector and group no longer works.
<span class="secret" id="refresh-token">${issued.refreshToken}</span><span class="muted">Valid until ${when(issued.expiresAt)}.</span></div>`;
      return portal.render(reply, ctx, await groupPage(actor, req.params.groupId, req.csrfToken!, { issued: box }));
    }, onError(req, actor, reply, ctx));
  });

  r.post('/groups/:groupId/connectors/:grantId/revoke', {
    schema: { params: { type: 'object', properties: { groupId: Uuid, grantId: Uuid }, required: ['groupId', 'grantId'] }, body: CsrfOnly },
  }, async (req, reply) => {
    const revoked = await s.grants.revoke(await portal.actor(req), req.params.groupId, req.params.grantId);
    return reply.redirect(`/groups/${req.params.groupId}?revoked=${encodeURIComponent(revoked.connectorName)}#connectors`, 303);
  });

  const AddMember = {
    type: 'object',
    properties: { _csrf: { type: 'string' }, phone: { type: 'string', maxLength: 40 }, role: { type: 'string', maxLength: 20 } },
    required: ['_csrf', 'phone', 'role'],
  } as const;
  r.post('/groups/:groupId/members', { schema: { params: GroupId, body: AddMember } },
    async (req, reply) => {
      const actor = await portal.actor(req);
      return attempt(reply, async () => {
        await s.orgs.addGroupMember(actor, req.user!.name, req.params.groupId, req.body.phone, req.body.role);
        return reply.redirect(`/groups/${req.params.groupId}`, 303);
      }, onError(req, actor, reply, portal.ctx(req, 'Group', 'groups')));
    });

  const MemberParams = { type: 'object', properties: { groupId: Uuid, memberId: Uuid }, required: ['groupId', 'memberId'] } as const;

  r.post('/groups/:groupId/members/:memberId/delete', { schema: { params: MemberParams, body: CsrfOnly } }, async (req, reply) => {
    const actor = await portal.actor(req);
    await s.orgs.removeGroupMember(actor, req.user!.name, req.params.groupId, req.params.memberId);
    // Someone who left may no longer see the group.
    return reply.redirect(await s.orgs.canReadGroup(actor, req.params.groupId) ? `/groups/${req.params.groupId}#members` : '/groups', 303);
  });

  const Role = { type: 'object', properties: { _csrf: { type: 'string' }, role: { type: 'string', maxLength: 20 } }, required: ['_csrf', 'role'] } as const;
  r.post('/groups/:groupId/members/:memberId/role', { schema: { params: MemberParams, body: Role } },
    async (req, reply) => {
      const actor = await portal.actor(req);
      return attempt(reply, async () => {
        await s.orgs.changeGroupMemberRole(actor, req.params.groupId, req.params.memberId, req.body.role);
        return reply.redirect(`/groups/${req.params.groupId}#members`, 303);
      }, onError(req, actor, reply, portal.ctx(req, 'Group', 'groups')));
    });

  const PostMessage = { type: 'object', properties: { _csrf: { type: 'string' }, message: { type: 'string', maxLength: 5000 } }, required: ['_csrf', 'message'] } as const;
  r.post('/groups/:groupId/messages', { schema: { params: GroupId, body: PostMessage } },
    async (req, reply) => {
      const actor = await portal.actor(req);
      return attempt(reply, async () => {
        await s.orgs.postUserMessage(actor, req.user!.name, req.params.groupId, req.body.message);
        return reply.redirect(`/groups/${req.params.groupId}#messages`, 303);
      }, onError(req, actor, reply, portal.ctx(req, 'Group', 'groups')));
    });
}
