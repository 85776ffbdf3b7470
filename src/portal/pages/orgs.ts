// Organisations: create, members with roles, conversation groups.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { html } from '../../lib/html.js';
import { copyable, csrfField, table } from '../views/layout.js';
import { CsrfOnly, type Portal } from '../session.js';
import { attempt, failureBox, field, type FormFailure } from '../forms.js';
import { can, type Actor } from '../../auth/policy.js';
import { GROUP_NAME_MAX, ORG_NAME_MAX, ORG_ROLES, WELCOME_MAX } from '../../orgs/orgs.service.js';
import { EMAIL_MAX } from '../../accounts/accounts.service.js';

const Uuid = { type: 'string', format: 'uuid' } as const;
const OrgId = { type: 'object', properties: { orgId: Uuid }, required: ['orgId'] } as const;
const MemberParams = { type: 'object', properties: { orgId: Uuid, userId: Uuid }, required: ['orgId', 'userId'] } as const;

export async function orgPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const { orgs } = portal.services;

  const listPage = async (userId: string, csrf: string, v: { name?: unknown } = {}, failure?: FormFailure) => {
    const list = await orgs.listForUser(userId);
    return html`<h1>Organisations</h1>${failureBox(failure)}
${table(html`<tr><th>Name</th><th>Your role</th></tr>
${list.map((o) => html`<tr><td><a href="/orgs/${o.id}">${o.name}</a></td><td>${o.role}</td></tr>`)}
${list.length ? '' : html`<tr><td colspan="2" class="muted">You are not in any organisation yet.</td></tr>`}`)}
<div class="card" style="margin-top:18px"><h2 style="margin-top:0">Create an organisation</h2>
<form method="post" action="/orgs">${csrfField(csrf)}${field({ name: 'name', label: 'Name', value: v.name, required: true, maxLength: ORG_NAME_MAX }, failure)}
<button type="submit">Create organisation</button></form></div>`;
  };

  const orgPage = async (actor: Actor, orgId: string, csrf: string, failure?: FormFailure, v: Record<string, unknown> = {}) => {
    const org = await orgs.get(actor, orgId);
    const [members, groups, secondFactor] = await Promise.all([orgs.members(actor, orgId), orgs.groupsOfOrg(actor, orgId), orgs.secondFactorState(actor, orgId)]);
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
    return html`<h1>${org.name}</h1>${failureBox(failure)}<div class="muted">Organisation ID ${copyable('org-id', org.id)}</div>
<h2>Groups</h2>${table(html`<tr><th>Group</th><th>Type</th></tr>
${groups.map((g) => html`<tr><td><a href="/groups/${g.id}">${g.name}</a>${g.parent_id ? html` <span class="muted">(subgroup)</span>` : ''}</td><td>${g.group_type}</td></tr>`)}
${groups.length ? '' : html`<tr><td colspan="2" class="muted">No groups yet.</td></tr>`}`)}
${admin ? html`<div class="card" style="margin-top:14px"><form method="post" action="/orgs/${org.id}/groups">${csrfField(csrf)}
${field({ name: 'name', label: 'New group name', value: v.name, required: true, maxLength: GROUP_NAME_MAX }, failure)}
${field({ name: 'welcomeMessage', label: 'Welcome message', value: v.welcomeMessage, maxLength: WELCOME_MAX }, failure)}
<button type="submit">Create group</button></form><p class="muted">Your verified phone number becomes the group's first admin.</p></div>` : ''}
<h2 id="members">Members</h2>${table(html`<tr><th>Name</th><th>Email</th><th>Role</th><th></th></tr>
${members.map(memberRow)}`)}
<p class="muted">Owners and admins manage members; only owners make or unmake owners. An organisation always keeps at least one owner.</p>
${admin ? html`<div class="card" style="margin-top:14px"><form method="post" action="/orgs/${org.id}/members">${csrfField(csrf)}
${field({ name: 'email', label: 'Add a member by email', type: 'email', value: v.email, required: true, maxLength: EMAIL_MAX }, failure)}
<label for="member-role">Role</label><select id="member-role" name="role">${[...offered].reverse().map((r) => html`<option>${r}</option>`)}</select>
<button type="submit">Add member</button></form></div>` : ''}
<h2 id="two-factor">Two-factor authentication</h2><div class="card">
<p>${secondFactor.required ? html`<span class="tag ok">required</span> Members without two-factor authentication cannot act for the organisation, consent for it, or make its private access tokens.` : html`<span class="tag">not required</span>`}</p>
${secondFactor.without.length ? html`<p>Not yet using two-factor authentication: ${secondFactor.without.map((m, i) => html`${i ? ', ' : ''}<span class="not-compliant">${m.name} (${m.email})</span>`)}</p>` : html`<p class="muted">Every member uses two-factor authentication.</p>`}
${ownerRights ? html`<form method="post" action="/orgs/${org.id}/two-factor">${csrfField(csrf)}<input type="hidden" name="required" value="${secondFactor.required ? 'no' : 'yes'}">
<button class="${secondFactor.required ? 'secondary' : ''}" type="submit">${secondFactor.required ? 'Stop requiring it' : 'Require two-factor authentication'}</button></form>` : ''}</div>
<p><a href="/connectors?org=${org.id}">Connectors of this organisation</a> · <a href="/orgs/${org.id}/platforms">Platforms</a>${ownerRights ? html` · <a href="/orgs/${org.id}/private-tokens">Manage private access tokens</a>` : ''}${can(actor, 'org.read_audit', { orgId }) ? html` · <a href="/orgs/${org.id}/audit">Audit log</a>` : ''}</p>`;
  };

  const renderOrg = async (req: FastifyRequest, reply: FastifyReply, orgId: string, failure?: FormFailure) => {
    const actor = await portal.actor(req);
    const org = await orgs.get(actor, orgId);
    const typed = failure ? (req.body ?? {}) as Record<string, unknown> : {};
    return portal.render(reply, portal.ctx(req, org.name, 'organisations', [['Organisations', '/orgs'], [org.name]]), await orgPage(actor, orgId, req.csrfToken!, failure, typed), failure?.status ?? 200);
  };

  r.get('/orgs', async (req, reply) => portal.render(reply, portal.ctx(req, 'Organisations', 'organisations'), await listPage(req.user!.id, req.csrfToken!)));

  const NewOrg = { type: 'object', properties: { _csrf: { type: 'string' }, name: { type: 'string', maxLength: ORG_NAME_MAX } }, required: ['_csrf', 'name'] } as const;
  r.post('/orgs', { attachValidation: true, schema: { body: NewOrg } },
    async (req, reply) => attempt(req, reply, async () => {
      const org = await orgs.create(await portal.actor(req), req.body.name);
      return portal.done(req, reply, `/orgs/${org.id}`, { notice: `Organisation ${org.name} created; you are its owner.` });
    }, async (failure) => portal.render(reply, portal.ctx(req, 'Organisations', 'organisations'), await listPage(req.user!.id, req.csrfToken!, req.body ?? {}, failure), failure.status)));

  r.get('/orgs/:orgId', { schema: { params: OrgId } }, async (req, reply) => renderOrg(req, reply, req.params.orgId));

  const AddMember = {
    type: 'object',
    properties: { _csrf: { type: 'string' }, email: { type: 'string', maxLength: EMAIL_MAX }, role: { type: 'string', maxLength: 20 } },
    required: ['_csrf', 'email', 'role'],
  } as const;
  r.post('/orgs/:orgId/members', { attachValidation: true, schema: { params: OrgId, body: AddMember } },
    async (req, reply) => attempt(req, reply, async () => {
      await orgs.addMember(await portal.actor(req), req.params.orgId, req.body.email, req.body.role);
      return portal.done(req, reply, `/orgs/${req.params.orgId}#members`, { notice: `${req.body.email.trim()} added as ${req.body.role}.` });
    }, (failure) => renderOrg(req, reply, req.params.orgId, failure)));

  const Role = { type: 'object', properties: { _csrf: { type: 'string' }, role: { type: 'string', maxLength: 20 } }, required: ['_csrf', 'role'] } as const;
  r.post('/orgs/:orgId/members/:userId/role', { attachValidation: true, schema: { params: MemberParams, body: Role } },
    async (req, reply) => attempt(req, reply, async () => {
      await orgs.changeMemberRole(await portal.actor(req), req.params.orgId, req.params.userId, req.body.role);
      return portal.done(req, reply, `/orgs/${req.params.orgId}#members`, { notice: `Role changed to ${req.body.role}.` });
    }, (failure) => renderOrg(req, reply, req.params.orgId, failure)));

  r.post('/orgs/:orgId/members/:userId/remove', { attachValidation: true, schema: { params: MemberParams, body: CsrfOnly } },
    async (req, reply) => attempt(req, reply, async () => {
      const { left } = await orgs.removeMember(await portal.actor(req), req.params.orgId, req.params.userId);
      // Someone who left can no longer see the organisation.
      return portal.done(req, reply, left ? '/orgs' : `/orgs/${req.params.orgId}#members`, { notice: left ? 'You left the organisation.' : 'Member removed.' });
    }, (failure) => renderOrg(req, reply, req.params.orgId, failure)));

  const Required = { type: 'object', properties: { _csrf: { type: 'string' }, required: { type: 'string', enum: ['yes', 'no'] } }, required: ['_csrf', 'required'] } as const;
  r.post('/orgs/:orgId/two-factor', { attachValidation: true, schema: { params: OrgId, body: Required } },
    async (req, reply) => attempt(req, reply, async () => {
      await orgs.setRequireSecondFactor(await portal.actor(req), req.params.orgId, req.body.required === 'yes');
      return portal.done(req, reply, `/orgs/${req.params.orgId}#two-factor`, { notice: req.body.required === 'yes' ? 'Two-factor authentication is now required.' : 'Two-factor authentication is no longer required.' });
    }, (failure) => renderOrg(req, reply, req.params.orgId, failure)));

  const NewGroup = {
    type: 'object',
    properties: { _csrf: { type: 'string' }, name: { type: 'string', maxLength: GROUP_NAME_MAX }, welcomeMessage: { type: 'string', maxLength: WELCOME_MAX } },
    required: ['_csrf', 'name'],
  } as const;
  r.post('/orgs/:orgId/groups', { attachValidation: true, schema: { params: OrgId, body: NewGroup } },
    async (req, reply) => attempt(req, reply, async () => {
      const g = await orgs.createGroup(await portal.actor(req), req.params.orgId, { name: req.body.name, welcomeMessage: req.body.welcomeMessage });
      return portal.done(req, reply, `/groups/${g.id}`, { notice: `Group ${g.name} created.` });
    }, (failure) => renderOrg(req, reply, req.params.orgId, failure)));
}
