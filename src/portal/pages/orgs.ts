// Organisations: create, members with roles, conversation groups.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html } from '../../lib/html.js';
import { csrfField, errorBox } from '../views/layout.js';
import { CsrfOnly, type Portal } from '../session.js';
import { attempt } from '../routes.js';
import { can, type Actor } from '../../auth/policy.js';
import { ORG_ROLES } from '../../orgs/orgs.service.js';

const Uuid = { type: 'string', format: 'uuid' } as const;
const OrgId = { type: 'object', properties: { orgId: Uuid }, required: ['orgId'] } as const;
const MemberParams = { type: 'object', properties: { orgId: Uuid, userId: Uuid }, required: ['orgId', 'userId'] } as const;

export async function orgPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const { orgs } = portal.services;

  const listPage = async (userId: string, csrf: string, error?: string) => {
    const list = await orgs.listForUser(userId);
    return html`<h1>Organisations</h1>${errorBox(error)}
<table><tr><th>Name</th><th>Your role</th></tr>
${list.map((o) => html`<tr><td><a href="/orgs/${o.id}">${o.name}</a></td><td>${o.role}</td></tr>`)}
${list.length ? '' : html`<tr><td colspan="2" class="muted">You are not in any organisation yet.</td></tr>`}</table>
<div class="card" style="margin-top:18px"><h2 style="margin-top:0">Create an organisation</h2>
<form method="post" action="/orgs">${csrfField(csrf)}<label for="org-name">Name</label><input id="org-name" type="text" name="name" required maxlength="100">
<button type="submit">Create organisation</button></form></div>`;
  };

  const orgPage = async (actor: Actor, orgId: string, csrf: string, error?: string) => {
    const org = await orgs.get(actor, orgId);
    const [members, groups] = await Promise.all([orgs.members(actor, orgId), orgs.groupsOfOrg(actor, orgId)]);
    // What the page offers follows the policy; the service asks it again on every change.
    const admin = can(actor, 'org.manage_members', { orgId });
    const ownerRights = can(actor, 'org.manage_owners', { orgId });
    const offered = ownerRights ? ORG_ROLES : ORG_ROLES.filter((r) => r !== 'owner');
    const memberRow = (m: { user_id: string; email: string; name: string; role: string }) => {
      const self = m.user_id === actor.userId;
      const manageable = admin && (m.role !== 'owner' || ownerRights);
      const role = manageable ? html`<form class="inline" method="post" action="/orgs/${org.id}/members/${m.user_id}/role">${csrfField(csrf)}<select name="role" aria-label="Role of ${m.email}">${offered.map((r) => html`<option ${r === m.role ? 'selected' : ''}>${r}</option>`)}</select> <button class="secondary" type="submit">Change role</button></form>` : m.role;
      const remove = self
        ? html`<form class="inline" method="post" action="/orgs/${org.id}/members/${m.user_id}/remove">${csrfField(csrf)}<button class="danger" type="submit">Leave organisation</button></form>`
        : manageable ? html`<form class="inline" method="post" action="/orgs/${org.id}/members/${m.user_id}/remove">${csrfField(csrf)}<button class="danger" type="submit" aria-label="Remove ${m.email}">Remove</button></form>` : '';
      return html`<tr><td>${m.name}${self ? html` <span class="muted">(you)</span>` : ''}</td><td>${m.email}</td><td>${role}</td><td>${remove}</td></tr>`;
    };
    return html`<h1>${org.name}</h1>${errorBox(error)}<p class="muted">Organisation ID <code>${org.id}</code></p>
<h2>Groups</h2><table><tr><th>Group</th><th>Type</th></tr>
${groups.map((g) => html`<tr><td><a href="/groups/${g.id}">${g.name}</a>${g.parent_id ? html` <span class="muted">(subgroup)</span>` : ''}</td><td>${g.group_type}</td></tr>`)}
${groups.length ? '' : html`<tr><td colspan="2" class="muted">No groups yet.</td></tr>`}</table>
${admin ? html`<div class="card" style="margin-top:14px"><form method="post" action="/orgs/${org.id}/groups">${csrfField(csrf)}
<label for="group-name">New group name</label><input id="group-name" type="text" name="name" required maxlength="100">
<label for="welcome">Welcome message</label><input id="welcome" type="text" name="welcomeMessage" maxlength="500">
<button type="submit">Create group</button></form><p class="muted">Your verified phone number becomes the group's first admin.</p></div>` : ''}
<h2 id="members">Members</h2><table><tr><th>Name</th><th>Email</th><th>Role</th><th></th></tr>
${members.map(memberRow)}</table>
<p class="muted">Owners and admins manage members; only owners make or unmake owners. An organisation always keeps at least one owner.</p>
${admin ? html`<div class="card" style="margin-top:14px"><form method="post" action="/orgs/${org.id}/members">${csrfField(csrf)}
<label for="member-email">Add a member by email</label><input id="member-email" type="email" name="email" required>
<label for="member-role">Role</label><select id="member-role" name="role">${[...offered].reverse().map((r) => html`<option>${r}</option>`)}</select>
<button type="submit">Add member</button></form></div>` : ''}
<p><a href="/connectors?org=${org.id}">Connectors of this organisation</a></p>`;
  };

  r.get('/orgs', async (req, reply) => portal.render(reply, portal.ctx(req, 'Organisations', 'organisations'), await listPage(req.user!.id, req.csrfToken!)));

  const NewOrg = { type: 'object', properties: { _csrf: { type: 'string' }, name: { type: 'string', maxLength: 200 } }, required: ['_csrf', 'name'] } as const;
  r.post('/orgs', { schema: { body: NewOrg } },
    async (req, reply) => attempt(reply, async () => {
      const org = await orgs.create(await portal.actor(req), req.body.name);
      return reply.redirect(`/orgs/${org.id}`, 303);
    }, async (message, status) => portal.render(reply, portal.ctx(req, 'Organisations', 'organisations'), await listPage(req.user!.id, req.csrfToken!, message), status)));

  r.get('/orgs/:orgId', { schema: { params: OrgId } }, async (req, reply) =>
    portal.render(reply, portal.ctx(req, 'Organisation', 'organisations'), await orgPage(await portal.actor(req), req.params.orgId, req.csrfToken!)));

  const AddMember = {
    type: 'object',
    properties: { _csrf: { type: 'string' }, email: { type: 'string', maxLength: 300 }, role: { type: 'string', maxLength: 20 } },
    required: ['_csrf', 'email', 'role'],
  } as const;
  r.post('/orgs/:orgId/members', { schema: { params: OrgId, body: AddMember } },
    async (req, reply) => {
      const actor = await portal.actor(req);
      return attempt(reply, async () => {
        await orgs.addMember(actor, req.params.orgId, req.body.email, req.body.role);
        return reply.redirect(`/orgs/${req.params.orgId}`, 303);
      }, async (message, status) => portal.render(reply, portal.ctx(req, 'Organisation', 'organisations'), await orgPage(actor, req.params.orgId, req.csrfToken!, message), status));
    });

  const orgError = (req: { params: { orgId: string }; csrfToken?: string }, actor: Actor, reply: Parameters<typeof portal.render>[0], ctx: Parameters<typeof portal.render>[1]) =>
    async (message: string, status: number) => portal.render(reply, ctx, await orgPage(actor, req.params.orgId, req.csrfToken!, message), status);

  const Role = { type: 'object', properties: { _csrf: { type: 'string' }, role: { type: 'string', maxLength: 20 } }, required: ['_csrf', 'role'] } as const;
  r.post('/orgs/:orgId/members/:userId/role', { schema: { params: MemberParams, body: Role } },
    async (req, reply) => {
      const actor = await portal.actor(req);
      return attempt(reply, async () => {
        await orgs.changeMemberRole(actor, req.params.orgId, req.params.userId, req.body.role);
        return reply.redirect(`/orgs/${req.params.orgId}#members`, 303);
      }, orgError(req, actor, reply, portal.ctx(req, 'Organisation', 'organisations')));
    });

  r.post('/orgs/:orgId/members/:userId/remove', { schema: { params: MemberParams, body: CsrfOnly } },
    async (req, reply) => {
      const actor = await portal.actor(req);
      return attempt(reply, async () => {
        const { left } = await orgs.removeMember(actor, req.params.orgId, req.params.userId);
        // Someone who left can no longer see the organisation.
        return reply.redirect(left ? '/orgs' : `/orgs/${req.params.orgId}#members`, 303);
      }, orgError(req, actor, reply, portal.ctx(req, 'Organisation', 'organisations')));
    });

  const NewGroup = {
    type: 'object',
    properties: { _csrf: { type: 'string' }, name: { type: 'string', maxLength: 200 }, welcomeMessage: { type: 'string', maxLength: 600 } },
    required: ['_csrf', 'name'],
  } as const;
  r.post('/orgs/:orgId/groups', { schema: { params: OrgId, body: NewGroup } },
    async (req, reply) => {
      const actor = await portal.actor(req);
      return attempt(reply, async () => {
        const g = await orgs.createGroup(actor, req.params.orgId, { name: req.body.name, welcomeMessage: req.body.welcomeMessage });
        return reply.redirect(`/groups/${g.id}`, 303);
      }, async (message, status) => portal.render(reply, portal.ctx(req, 'Organisation', 'organisations'), await orgPage(actor, req.params.orgId, req.csrfToken!, message), status));
    });
}
