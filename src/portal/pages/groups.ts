// Conversation groups: members (by phone), the messages posted into the group, and the group's
// connectors — where a group admin grants access and receives the refresh token, shown once.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html } from '../../lib/html.js';
import { invalid } from '../../lib/errors.js';
import { copyable, csrfField, table } from '../views/layout.js';
import { CsrfOnly, type Portal } from '../session.js';
import { attempt, failureBox, field, fieldError, type FormFailure } from '../forms.js';
import type { Actor } from '../../auth/policy.js';
import { GROUP_NAME_MAX, GROUP_ROLES, MESSAGE_MAX, WELCOME_MAX, listMembers, listMessages, type Group } from '../../orgs/orgs.service.js';
import { PHONE_MAX } from '../../lib/phone.js';

const Uuid = { type: 'string', format: 'uuid' } as const;
const GroupId = { type: 'object', properties: { groupId: Uuid }, required: ['groupId'] } as const;
const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

export async function groupPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const s = portal.services;

  const groupPage = async (actor: Actor, group: Group, csrf: string, failure?: FormFailure, v: Record<string, unknown> = {}) => {
    const groupId = group.id;
    const manage = await s.orgs.canManageGroup(actor, groupId);
    const [members, page, grants, orgConnectors] = await Promise.all([
      listMembers(s.deps.db, groupId), listMessages(s.deps.db, groupId, 50), s.grants.listForGroup(actor, groupId),
      manage ? s.connectors.listForOrg(group.org_id) : Promise.resolve([]),
    ]);
    // Connectors that already have access get a new refresh token from their own row.
    const granted = new Set(grants.map((g) => g.connector_id));
    const offered = orgConnectors.filter((c) => !granted.has(c.id));
    return html`<h1>${group.name}</h1><div class="muted">Group ID ${copyable('group-id', group.id)}${group.welcome_message ? html`<p>${group.welcome_message}</p>` : ''}</div>
${failureBox(failure)}
<h2 id="connectors">Connectors</h2>
${table(html`<tr><th>Connector</th><th>Permissions</th><th>Refresh token expires</th><th></th></tr>
${grants.map((g) => html`<tr><td>${g.connector_name} <span class="muted">(${g.connector_org_name})</span><br><code>${g.connector_id}</code></td>
<td>${g.permissions.map((p) => html`<span class="tag">${p}</span>`)}</td><td>${g.refresh_token_expires_at ? when(g.refresh_token_expires_at) : ''}</td>
<td>${manage ? html`<form class="inline" method="post" action="/groups/${group.id}/connectors">${csrfField(csrf)}<input type="hidden" name="connectorId" value="${g.connector_id}"><button class="secondary" type="submit">New refresh token</button></form>
<form class="inline" method="post" action="/groups/${group.id}/connectors/${g.id}/revoke">${csrfField(csrf)}<button class="danger" type="submit">Revoke</button></form>` : ''}</td></tr>`)}
${grants.length ? '' : html`<tr><td colspan="4" class="muted">No connector has access to this group.</td></tr>`}`)}
${manage ? html`<div class="card" style="margin-top:14px"><form method="post" action="/groups/${group.id}/connectors">${csrfField(csrf)}
<label for="connector-select">Connector</label><select id="connector-select" name="connectorId"><option value="">${offered.length ? '— choose a connector of this organisation —' : '— every connector of this organisation has access —'}</option>
${offered.map((c) => html`<option value="${c.id}">${c.name}</option>`)}</select>${fieldError('connectorId', failure)}
${field({ name: 'connectorIdManual', label: '…or any connector by its ID', value: v.connectorIdManual, maxLength: 36, placeholder: '00000000-0000-0000-0000-000000000000' }, failure)}
<button type="submit">Add Connector</button></form></div>` : ''}
<h2 id="members">Members</h2>${table(html`<tr><th>Phone</th><th>Name</th><th>Role</th><th></th></tr>
${members.map((m) => html`<tr><td>${m.phone}</td><td>${m.isProvisioned ? m.name : html`<span class="tag warn">not provisioned</span>`}</td>
<td>${manage ? html`<form class="inline" method="post" action="/groups/${group.id}/members/${m.id}/role">${csrfField(csrf)}<select name="role" aria-label="Role of ${m.phone}">${GROUP_ROLES.map((r) => html`<option ${r === m.role ? 'selected' : ''}>${r}</option>`)}</select> <button class="secondary" type="submit">Change role</button></form>` : m.role}</td>
<td>${manage ? html`<form class="inline" method="post" action="/groups/${group.id}/members/${m.id}/delete">${csrfField(csrf)}<button class="secondary" type="submit">Remove</button></form>`
    : actor.phones.includes(m.phone) ? html`<form class="inline" method="post" action="/groups/${group.id}/members/${m.id}/delete">${csrfField(csrf)}<button class="secondary" type="submit">Leave group</button></form>` : ''}</td></tr>`)}
${members.length ? '' : html`<tr><td colspan="4" class="muted">No members.</td></tr>`}`)}
${manage ? html`<div class="card" style="margin-top:14px"><form method="post" action="/groups/${group.id}/members">${csrfField(csrf)}
${field({ name: 'phone', label: 'Add a member by phone number', type: 'tel', value: v.phone, required: true, maxLength: PHONE_MAX, placeholder: '+14155550123' }, failure)}
<label for="member-role">Role</label><select id="member-role" name="role"><option>member</option><option>admin</option></select><button type="submit">Add member</button></form></div>` : ''}
<h2>Messages</h2><div class="card" id="messages">
${page.messages.map((m) => html`<div class="msg"><b>${m.sender_name}</b><span class="tag">${m.sender_type}</span><span class="muted">${when(m.created_at)}</span><div class="msg-text">${m.text}</div></div>`)}
${page.messages.length ? '' : html`<p class="muted">No messages yet.</p>`}
<form method="post" action="/groups/${group.id}/messages">${csrfField(csrf)}${field({ name: 'message', label: 'Post a message', value: v.message, multiline: true, required: true, maxLength: MESSAGE_MAX }, failure)}<button type="submit">Post</button></form></div>`;
  };
  const renderGroup = async (req: FastifyRequest, reply: FastifyReply, groupId: string, failure?: FormFailure) => {
    const actor = await portal.actor(req);
    const group = await s.orgs.authorizeGroup(actor, groupId, 'group.read');
    // Breadcrumbs start at the organisation for its members; a group admin by phone alone starts at Groups.
    const org = actor.orgRoles.has(group.org_id) ? await s.orgs.get(actor, group.org_id) : undefined;
    const ctx = portal.ctx(req, group.name, 'groups', [...(org ? [[org.name, `/orgs/${org.id}`]] as [string, string][] : []), ['Groups', '/groups'], [group.name]]);
    const typed = failure ? (req.body ?? {}) as Record<string, unknown> : {};
    return portal.render(reply, ctx, await groupPage(actor, group, req.csrfToken!, failure, typed), failure?.status ?? 200);
  };

  const groupsPage = async (req: FastifyRequest, v: { orgId?: unknown; name?: unknown; welcomeMessage?: unknown } = {}, failure?: FormFailure) => {
    const actor = await portal.actor(req);
    const [groups, orgs] = await Promise.all([s.orgs.groupsForActor(actor), s.orgs.listForUser(actor.userId)]);
    const managed = orgs.filter((o) => o.role !== 'member');
    return html`<h1>Groups</h1>${failureBox(failure)}
${table(html`<tr><th>Group</th><th>Organisation</th></tr>${groups.map((g) => html`<tr><td><a href="/groups/${g.id}">${g.name}</a></td><td>${g.org_name}</td></tr>`)}
${groups.length ? '' : html`<tr><td colspan="2" class="muted">No groups yet.</td></tr>`}`)}
<div class="card" style="margin-top:18px"><h2 style="margin-top:0">Create a group</h2>
${managed.length ? html`<form method="post" action="/groups">${csrfField(req.csrfToken!)}
<label for="group-org">Organisation</label><select id="group-org" name="orgId">${managed.map((o) => html`<option value="${o.id}" ${o.id === v.orgId ? 'selected' : ''}>${o.name}</option>`)}</select>${fieldError('orgId', failure)}
${field({ name: 'name', label: 'Group name', value: v.name, required: true, maxLength: GROUP_NAME_MAX }, failure)}
${field({ name: 'welcomeMessage', label: 'Welcome message', value: v.welcomeMessage, maxLength: WELCOME_MAX }, failure)}
<button type="submit">Create group</button></form><p class="muted">Your verified phone number becomes the group's first admin.</p>`
    : html`<p>Groups belong to an organisation: <a href="/orgs">create one</a> first, or ask an owner of yours to make you an admin.</p>`}</div>`;
  };

  r.get('/groups', async (req, reply) => portal.render(reply, portal.ctx(req, 'Groups', 'groups'), await groupsPage(req)));

  r.post('/groups', {
    attachValidation: true,
    schema: {
      body: {
        type: 'object',
        properties: { _csrf: { type: 'string' }, orgId: { type: 'string', maxLength: 100 }, name: { type: 'string', maxLength: GROUP_NAME_MAX }, welcomeMessage: { type: 'string', maxLength: WELCOME_MAX } },
        required: ['_csrf', 'orgId', 'name'],
      },
    },
  }, async (req, reply) => attempt(req, reply, async () => {
    const g = await s.orgs.createGroup(await portal.actor(req), req.body.orgId, { name: req.body.name, welcomeMessage: req.body.welcomeMessage });
    return portal.done(req, reply, `/groups/${g.id}`, { notice: `Group ${g.name} created.` });
  }, async (failure) => portal.render(reply, portal.ctx(req, 'Groups', 'groups'), await groupsPage(req, req.body ?? {}, failure), failure.status)));

  r.get('/groups/:groupId', { schema: { params: GroupId } }, async (req, reply) => renderGroup(req, reply, req.params.groupId));

  r.post('/groups/:groupId/connectors', {
    attachValidation: true,
    schema: {
      params: GroupId,
      body: {
        type: 'object',
        properties: { _csrf: { type: 'string' }, connectorId: { type: 'string', maxLength: 36 }, connectorIdManual: { type: 'string', maxLength: 36 } },
        required: ['_csrf'],
      },
    },
  }, async (req, reply) => attempt(req, reply, async () => {
    const id = (req.body.connectorIdManual ?? '').trim() || (req.body.connectorId ?? '').trim();
    if (!id) throw invalid('connectorId', 'choose a connector, or enter a connector ID');
    const issued = await s.grants.grant(await portal.actor(req), req.params.groupId, id);
    return portal.done(req, reply, `/groups/${req.params.groupId}#connectors`, {
      notice: 'Refresh token generated. Copy it now and hand it to the connector\'s developer; it will not be shown again.',
      secrets: [{ id: 'refresh-token', label: 'Refresh token', value: issued.refreshToken }],
      note: `Valid until ${when(issued.expiresAt)}. Any earlier refresh token for this connector and group no longer works.`,
    });
  }, (failure) => renderGroup(req, reply, req.params.groupId, failure)));

  r.post('/groups/:groupId/connectors/:grantId/revoke', {
    schema: { params: { type: 'object', properties: { groupId: Uuid, grantId: Uuid }, required: ['groupId', 'grantId'] }, body: CsrfOnly },
  }, async (req, reply) => {
    const revoked = await s.grants.revoke(await portal.actor(req), req.params.groupId, req.params.grantId);
    return portal.done(req, reply, `/groups/${req.params.groupId}#connectors`,
      { notice: `Access revoked: ${revoked.connectorName} can no longer use this group; its refresh token and access tokens stopped working.` });
  });

  const AddMember = {
    type: 'object',
    properties: { _csrf: { type: 'string' }, phone: { type: 'string', maxLength: PHONE_MAX }, role: { type: 'string', maxLength: 20 } },
    required: ['_csrf', 'phone', 'role'],
  } as const;
  r.post('/groups/:groupId/members', { attachValidation: true, schema: { params: GroupId, body: AddMember } },
    async (req, reply) => attempt(req, reply, async () => {
      await s.orgs.addGroupMember(await portal.actor(req), req.user!.name, req.params.groupId, req.body.phone, req.body.role);
      return portal.done(req, reply, `/groups/${req.params.groupId}#members`, { notice: `${req.body.phone.trim()} added to the group.` });
    }, (failure) => renderGroup(req, reply, req.params.groupId, failure)));

  const MemberParams = { type: 'object', properties: { groupId: Uuid, memberId: Uuid }, required: ['groupId', 'memberId'] } as const;

  r.post('/groups/:groupId/members/:memberId/delete', { schema: { params: MemberParams, body: CsrfOnly } }, async (req, reply) => {
    const actor = await portal.actor(req);
    await s.orgs.removeGroupMember(actor, req.user!.name, req.params.groupId, req.params.memberId);
    // Someone who left may no longer see the group.
    const stays = await s.orgs.canReadGroup(await portal.actor(req), req.params.groupId);
    return portal.done(req, reply, stays ? `/groups/${req.params.groupId}#members` : '/groups', { notice: stays ? 'Member removed from the group.' : 'You left the group.' });
  });

  const Role = { type: 'object', properties: { _csrf: { type: 'string' }, role: { type: 'string', maxLength: 20 } }, required: ['_csrf', 'role'] } as const;
  r.post('/groups/:groupId/members/:memberId/role', { attachValidation: true, schema: { params: MemberParams, body: Role } },
    async (req, reply) => attempt(req, reply, async () => {
      await s.orgs.changeGroupMemberRole(await portal.actor(req), req.params.groupId, req.params.memberId, req.body.role);
      return portal.done(req, reply, `/groups/${req.params.groupId}#members`, { notice: `Role changed to ${req.body.role}.` });
    }, (failure) => renderGroup(req, reply, req.params.groupId, failure)));

  const PostMessage = { type: 'object', properties: { _csrf: { type: 'string' }, message: { type: 'string', maxLength: MESSAGE_MAX } }, required: ['_csrf', 'message'] } as const;
  r.post('/groups/:groupId/messages', { attachValidation: true, schema: { params: GroupId, body: PostMessage } },
    async (req, reply) => attempt(req, reply, async () => {
      await s.orgs.postUserMessage(await portal.actor(req), req.user!.name, req.params.groupId, req.body.message);
      return portal.done(req, reply, `/groups/${req.params.groupId}#messages`, { notice: 'Message posted.' });
    }, (failure) => renderGroup(req, reply, req.params.groupId, failure)));
}
