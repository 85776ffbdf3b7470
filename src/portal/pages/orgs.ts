// Organisations: create, members with roles, conversation groups.
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { html } from '../../lib/html.js';
import { csrfField, errorBox } from '../views/layout.js';
import type { Portal } from '../session.js';
import { attempt } from '../routes.js';
import type { Actor } from '../../auth/policy.js';

const OrgId = Type.Object({ orgId: Type.String({ format: 'uuid' }) });

export async function orgPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
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
    const admin = ['owner', 'admin'].includes(actor.orgRoles.get(orgId) ?? '');
    return html`<h1>${org.name}</h1>${errorBox(error)}<p class="muted">Organisation ID <code>${org.id}</code></p>
<h2>Groups</h2><table><tr><th>Group</th><th>Type</th></tr>
${groups.map((g) => html`<tr><td><a href="/groups/${g.id}">${g.name}</a>${g.parent_id ? html` <span class="muted">(subgroup)</span>` : ''}</td><td>${g.group_type}</td></tr>`)}
${groups.length ? '' : html`<tr><td colspan="2" class="muted">No groups yet.</td></tr>`}</table>
${admin ? html`<div class="card" style="margin-top:14px"><form method="post" action="/orgs/${org.id}/groups">${csrfField(csrf)}
<label for="group-name">New group name</label><input id="group-name" type="text" name="name" required maxlength="100">
<label for="welcome">Welcome message</label><input id="welcome" type="text" name="welcomeMessage" maxlength="500">
<button type="submit">Create group</button></form><p class="muted">Your verified phone number becomes the group's first admin.</p></div>` : ''}
<h2>Members</h2><table><tr><th>Name</th><th>Email</th><th>Role</th></tr>
${members.map((m) => html`<tr><td>${m.name}</td><td>${m.email}</td><td>${m.role}</td></tr>`)}</table>
${admin ? html`<div class="card" style="margin-top:14px"><form method="post" action="/orgs/${org.id}/members">${csrfField(csrf)}
<label for="member-email">Add a member by email</label><input id="member-email" type="email" name="email" required>
<label for="member-role">Role</label><select id="member-role" name="role"><option>member</option><option>admin</option><option>owner</option></select>
<button type="submit">Add member</button></form></div>` : ''}
<p><a href="/connectors?org=${org.id}">Connectors of this organisation</a></p>`;
  };

  r.get('/orgs', async (req, reply) => portal.render(reply, portal.ctx(req, 'Organisations', 'organisations'), await listPage(req.user!.id, req.csrfToken!)));

  r.post('/orgs', { schema: { body: Type.Object({ _csrf: Type.String(), name: Type.String({ maxLength: 200 }) }) } },
    async (req, reply) => attempt(reply, async () => {
      const org = await orgs.create(await portal.actor(req), req.body.name);
      return reply.redirect(`/orgs/${org.id}`, 303);
    }, async (message, status) => portal.render(reply, portal.ctx(req, 'Organisations', 'organisations'), await listPage(req.user!.id, req.csrfToken!, message), status)));

  r.get('/orgs/:orgId', { schema: { params: OrgId } }, async (req, reply) =>
    portal.render(reply, portal.ctx(req, 'Organisation', 'organisations'), await orgPage(await portal.actor(req), req.params.orgId, req.csrfToken!)));

  r.post('/orgs/:orgId/members', { schema: { params: OrgId, body: Type.Object({ _csrf: Type.String(), email: Type.String({ maxLength: 300 }), role: Type.String({ maxLength: 20 }) }) } },
    async (req, reply) => {
      const actor = await portal.actor(req);
      return attempt(reply, async () => {
        await orgs.addMember(actor, req.params.orgId, req.body.email, req.body.role);
        return reply.redirect(`/orgs/${req.params.orgId}`, 303);
      }, async (message, status) => portal.render(reply, portal.ctx(req, 'Organisation', 'organisations'), await orgPage(actor, req.params.orgId, req.csrfToken!, message), status));
    });

  r.post('/orgs/:orgId/groups', { schema: { params: OrgId, body: Type.Object({ _csrf: Type.String(), name: Type.String({ maxLength: 200 }), welcomeMessage: Type.Optional(Type.String({ maxLength: 600 })) }) } },
    async (req, reply) => {
      const actor = await portal.actor(req);
      return attempt(reply, async () => {
        const g = await orgs.createGroup(actor, req.params.orgId, { name: req.body.name, welcomeMessage: req.body.welcomeMessage });
        return reply.redirect(`/groups/${g.id}`, 303);
      }, async (message, status) => portal.render(reply, portal.ctx(req, 'Organisation', 'organisations'), await orgPage(actor, req.params.orgId, req.csrfToken!, message), status));
    });
}
