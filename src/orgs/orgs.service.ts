// Organisations, their members and roles, conversation groups and group members.
// Every method takes the acting person and asks the policy before it reads or writes.
import { sql, type Kysely } from 'kysely';
import type { Deps } from '../deps.js';
import { byPerson, recordAudit, type AuditBy } from '../audit/audit-log.js';
import type { RecordAnswer } from '../idempotency/idempotency.js';
import { isUniqueViolation } from '../deps.js';
import { can, type Action, type Actor } from '../auth/policy.js';
import { secondFactorRequired } from '../auth/second-factor.js';
import { ApiError, FieldChecks, invalid, notFound, requiredText } from '../lib/errors.js';
import { newId, uuidv7 } from '../lib/ids.js';
import { toE164 } from '../lib/phone.js';
import type { Database, GroupRole, GroupsTable, MessagesTable, OrgRole } from '../db/schema.js';
import { prepared } from '../db/prepared.js';
import { groupedInserts } from '../db/group-commit.js';
import { normaliseEmail } from '../accounts/accounts.service.js';
import type { EventSource, WebhookEvents } from '../webhooks/events.js';

export const ORG_ROLES: OrgRole[] = ['owner', 'admin', 'member'];
export const GROUP_ROLES: GroupRole[] = ['admin', 'member'];

export type Group = GroupsTable;
export interface GroupMember { id: string; phone: string; role: GroupRole; isProvisioned: boolean; name: string | null }
export interface Message { id: string; sender_type: string; sender_id: string; sender_name: string; text: string; created_at: number }

export const ORG_NAME_MAX = 100;

/** Writes what another capability keeps for a new organisation, inside the transaction that makes it. */
export type OrgProvisioner = (trx: Kysely<Database>, orgId: string, now: number) => Promise<void>;
export const GROUP_NAME_MAX = 100;
export const WELCOME_MAX = 500;

/** Loads a group with the phone → role map the policy needs. Shared by the portal and the platform API. */
export async function loadGroup(db: Kysely<Database>, groupId: string): Promise<{ group: Group; roles: Map<string, GroupRole> } | undefined> {
  const group = await db.selectFrom('groups').selectAll().where('id', '=', groupId).executeTakeFirst();
  if (!group) return undefined;
  const members = await db.selectFrom('group_members').select(['phone', 'role']).where('group_id', '=', groupId).execute();
  return { group, roles: new Map(members.map((m) => [m.phone, m.role as GroupRole])) };
}

export class OrgsService {
  /**
   * `provision` adds what other capabilities keep per organisation (the Kandy API account) in the
   * transaction that makes the organisation, so no page has to make it on first view.
   */
  constructor(private readonly deps: Deps, private readonly events: WebhookEvents, private readonly provision: OrgProvisioner = async () => undefined) {}

  private source(actor: Actor, name: string): EventSource {
    return { userId: actor.userId, name, phone: actor.phones[0] ?? '' };
  }

  /**
   * Makes an organisation with the actor as its owner. `also` writes what the caller keeps for it
   * (a platform membership) in the same transaction.
   */
  async create(actor: Actor, nameInput: string, opts: { countryCode?: string | null; also?: OrgProvisioner } = {}): Promise<{ id: string; name: string }> {
    const name = requiredText(nameInput, 'name', ORG_NAME_MAX);
    const id = newId();
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('organizations').values({ id, name, country_code: opts.countryCode ?? null, created_by: actor.userId, created_at: now }).execute();
      await trx.insertInto('org_members').values({ org_id: id, user_id: actor.userId, role: 'owner', created_at: now }).execute();
      await this.provision(trx, id, now);
      if (opts.also) await opts.also(trx, id, now);
      await recordAudit(trx, { ...byPerson(actor), orgId: id, action: 'org.created', target: { type: 'organization', id }, summary: name, at: now });
    });
    return { id, name };
  }

  listForUser(userId: string): Promise<{ id: string; name: string; role: string }[]> {
    return this.deps.db.selectFrom('org_members').innerJoin('organizations', 'organizations.id', 'org_members.org_id')
      .select(['organizations.id', 'organizations.name', 'org_members.role'])
      .where('org_members.user_id', '=', userId).orderBy('organizations.name').execute();
  }

  async get(actor: Actor, orgId: string): Promise<{ id: string; name: string }> {
    const org = await this.deps.db.selectFrom('organizations').select(['id', 'name']).where('id', '=', orgId).executeTakeFirst();
    if (org && actor.needsSecondFactor?.has(orgId)) throw secondFactorRequired(org.name);
    // Not a member: answer as if it did not exist, so ids cannot be probed.
    if (!org || !can(actor, 'org.read', { orgId })) throw notFound('Organisation');
    return org;
  }

  private async authorizeOrg(actor: Actor, orgId: string, action: Action): Promise<void> {
    await this.get(actor, orgId);
    if (!can(actor, action, { orgId })) throw new ApiError('forbidden', 'Only owners and admins of the organisation may do this');
  }

  /** Whether the organisation requires two-factor authentication, and who of its members has none yet. */
  async secondFactorState(actor: Actor, orgId: string): Promise<{ required: boolean; without: { user_id: string; name: string; email: string }[] }> {
    await this.get(actor, orgId);
    const org = await this.deps.db.selectFrom('organizations').select('require_two_factor').where('id', '=', orgId).executeTakeFirstOrThrow();
    const without = await this.deps.db.selectFrom('org_members').innerJoin('users', 'users.id', 'org_members.user_id')
      .leftJoin('two_factor', (j) => j.onRef('two_factor.user_id', '=', 'org_members.user_id').on('two_factor.enabled_at', 'is not', null))
      .select(['org_members.user_id', 'users.name', 'users.email']).where('org_members.org_id', '=', orgId).where('two_factor.user_id', 'is', null)
      .orderBy('users.email').execute();
    return { required: org.require_two_factor === 1, without };
  }

  /** Owners switch the requirement; one who turns it on must have two-factor authentication already. */
  async setRequireSecondFactor(actor: Actor, orgId: string, on: boolean): Promise<void> {
    await this.get(actor, orgId);
    if (!can(actor, 'org.manage_owners', { orgId })) throw new ApiError('forbidden', 'Only owners of the organisation may change what it requires');
    if (on) {
      const mine = await this.deps.db.selectFrom('two_factor').select('user_id').where('user_id', '=', actor.userId).where('enabled_at', 'is not', null).executeTakeFirst();
      if (!mine) throw new ApiError('conflict', 'Turn on two-factor authentication for your own account first (Account), or you would lock yourself out');
    }
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('organizations').set({ require_two_factor: on ? 1 : 0 }).where('id', '=', orgId).execute();
      await recordAudit(trx, {
        ...byPerson(actor), orgId, action: 'org.two_factor_requirement_changed', target: { type: 'organization', id: orgId },
        summary: on ? 'two-factor authentication required' : 'two-factor authentication no longer required', at: this.deps.clock.now(),
      });
    });
  }

  async members(actor: Actor, orgId: string): Promise<{ user_id: string; email: string; name: string; role: string }[]> {
    await this.get(actor, orgId);
    return this.deps.db.selectFrom('org_members').innerJoin('users', 'users.id', 'org_members.user_id')
      .select(['org_members.user_id', 'users.email', 'users.name', 'org_members.role'])
      .where('org_members.org_id', '=', orgId).orderBy('users.email').execute();
  }

  async addMember(actor: Actor, orgId: string, emailInput: string, role: string): Promise<void> {
    await this.authorizeOrg(actor, orgId, 'org.manage_members');
    if (!ORG_ROLES.includes(role as OrgRole)) throw invalid('role', `must be one of ${ORG_ROLES.join(', ')}`);
    if (role === 'owner' && !can(actor, 'org.manage_owners', { orgId })) throw new ApiError('forbidden', 'Only an owner may add another owner');
    const email = normaliseEmail(emailInput);
    const user = await this.deps.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
    if (!user) throw new ApiError('not_found', 'email: no account uses this email; ask the person to sign up first', { field: 'email' });
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        const now = this.deps.clock.now();
        await trx.insertInto('org_members').values({ org_id: orgId, user_id: user.id, role: role as OrgRole, created_at: now }).execute();
        await recordAudit(trx, { ...byPerson(actor), orgId, action: 'org.member_added', target: { type: 'user', id: user.id }, summary: `${email} as ${role}`, at: now });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError('conflict', 'email: this person is already a member', { field: 'email' });
      throw err;
    }
  }

  /**
   * Changes a member's role. Admins manage roles below owner; only owners make or unmake owners;
   * the last owner cannot be demoted, so an organisation is never left without one.
   */
  async changeMemberRole(actor: Actor, orgId: string, userId: string, roleInput: string): Promise<void> {
    await this.authorizeOrg(actor, orgId, 'org.manage_members');
    if (!ORG_ROLES.includes(roleInput as OrgRole)) throw invalid('role', `must be one of ${ORG_ROLES.join(', ')}`);
    const role = roleInput as OrgRole;
    await this.changeMembership(orgId, userId, async (trx, current) => {
      if ((current === 'owner' || role === 'owner') && !can(actor, 'org.manage_owners', { orgId })) {
        throw new ApiError('forbidden', 'Only an owner may make someone an owner or change an owner\'s role');
      }
      if (current === role) return;
      await trx.updateTable('org_members').set({ role }).where('org_id', '=', orgId).where('user_id', '=', userId).execute();
      await recordAudit(trx, { ...byPerson(actor), orgId, action: 'org.member_role_changed', target: { type: 'user', id: userId }, summary: `${current} → ${role}`, at: this.deps.clock.now() });
    }, new ApiError('conflict', 'role: the organisation must keep at least one owner; make someone else an owner first', { field: 'role' }));
  }

  /** Removes a member; a person may always leave, except the last owner. Answers whether it was the actor. */
  async removeMember(actor: Actor, orgId: string, userId: string): Promise<{ left: boolean }> {
    const left = userId === actor.userId;
    if (left) {
      await this.get(actor, orgId);
      if (!can(actor, 'org.leave', { orgId })) throw new ApiError('forbidden', 'You cannot leave this organisation');
    } else {
      await this.authorizeOrg(actor, orgId, 'org.manage_members');
    }
    await this.changeMembership(orgId, userId, async (trx, current) => {
      if (current === 'owner' && !left && !can(actor, 'org.manage_owners', { orgId })) throw new ApiError('forbidden', 'Only an owner may remove an owner');
      await trx.deleteFrom('org_members').where('org_id', '=', orgId).where('user_id', '=', userId).execute();
      await recordAudit(trx, {
        ...byPerson(actor), orgId, action: left ? 'org.member_left' : 'org.member_removed', target: { type: 'user', id: userId }, summary: `was ${current}`, at: this.deps.clock.now(),
      });
    }, new ApiError('conflict', left ? 'You are the last owner of this organisation; make someone else an owner before leaving'
      : 'The organisation must keep at least one owner; make someone else an owner first'));
    return { left };
  }

  /**
   * Runs a change to one membership in a transaction that ends with at least one owner left. On
   * PostgreSQL the organisation's row is locked first, so two owners demoting each other at once
   * are serialised and the second sees the first's change; SQLite runs one transaction at a time.
   */
  private async changeMembership(orgId: string, userId: string, change: (trx: Kysely<Database>, current: OrgRole) => Promise<void>, lastOwner: ApiError): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      const org = trx.selectFrom('organizations').select('id').where('id', '=', orgId);
      await (this.deps.dialect === 'postgres' ? org.forUpdate() : org).executeTakeFirst();
      const member = await trx.selectFrom('org_members').select('role').where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst();
      if (!member) throw notFound('Member');
      await change(trx, member.role);
      if (member.role !== 'owner') return;
      const owners = await trx.selectFrom('org_members').select((eb) => eb.fn.countAll<number>().as('n')).where('org_id', '=', orgId).where('role', '=', 'owner').executeTakeFirstOrThrow();
      // Checked after the write, inside the transaction: whatever the change was, it is undone.
      if (Number(owners.n) === 0) throw lastOwner;
    });
  }

  // ---- groups ----

  async createGroup(actor: Actor, orgId: string, input: { name: string; welcomeMessage?: string; parentId?: string | null; groupType?: string }): Promise<Group> {
    await this.authorizeOrg(actor, orgId, 'org.manage_groups');
    return (await this.insertGroup(orgId, input, byPerson(actor), actor.phones[0])).group;
  }

  /**
   * Inserts a group; the creator's phone (when known) becomes its first admin, as in Kaizala.
   * `members` (already normalised with normalisePhones) join in the same transaction, so a group
   * is never left behind without the members the request asked for.
   */
  async insertGroup(orgId: string, input: { name: string; welcomeMessage?: string; parentId?: string | null; groupType?: string; members?: string[] }, by: AuditBy, adminPhone?: string, record?: RecordAnswer<{ group: Group; membersAdded: string[] }>): Promise<{ group: Group; membersAdded: string[] }> {
    const checks = new FieldChecks();
    const name = checks.check(() => requiredText(input.name, 'name', GROUP_NAME_MAX))!;
    const welcome = (input.welcomeMessage ?? '').trim();
    if (welcome.length > WELCOME_MAX) checks.check(() => { throw invalid('welcomeMessage', `must be at most ${WELCOME_MAX} characters`); });
    checks.done();
    const groupType = input.groupType ?? 'Group';
    if (!['Group', 'BroadcastGroup', 'FlatGroup', 'HierarchicalGroup'].includes(groupType)) {
      throw invalid('groupType', 'must be one of Group, BroadcastGroup, FlatGroup, HierarchicalGroup');
    }
    if (input.parentId) {
      const parent = await this.deps.db.selectFrom('groups').select('org_id').where('id', '=', input.parentId).executeTakeFirst();
      if (!parent || parent.org_id !== orgId) throw invalid('parentId', 'must be a group of the same organisation');
    }
    const now = this.deps.clock.now();
    const group: Group = { id: newId(), org_id: orgId, parent_id: input.parentId ?? null, name, welcome_message: welcome, group_type: groupType, created_at: now };
    const membersAdded = await this.deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('groups').values(group).execute();
      if (adminPhone) await trx.insertInto('group_members').values({ id: newId(), group_id: group.id, phone: adminPhone, role: 'admin', created_at: now }).execute();
      const added = input.members?.length ? (await insertMembers(trx, group.id, input.members, 'member', now)).map((m) => m.phone) : [];
      const members = added.length ? ` with ${added.length} member${added.length === 1 ? '' : 's'}` : '';
      await recordAudit(trx, { ...by, orgId, action: 'group.created', target: { type: 'group', id: group.id }, summary: `${name}${members}`, at: now });
      await record?.(trx, { group, membersAdded: added });
      return added;
    });
    return { group, membersAdded };
  }

  /** Groups a person can see: all groups of orgs they belong to, and groups listing their phone. */
  async groupsForActor(actor: Actor): Promise<(Group & { org_name: string })[]> {
    const orgIds = [...actor.orgRoles.keys()];
    if (!orgIds.length && !actor.phones.length) return [];
    const db = this.deps.db;
    let q = db.selectFrom('groups').innerJoin('organizations', 'organizations.id', 'groups.org_id').selectAll('groups').select('organizations.name as org_name');
    q = q.where((eb) => {
      const ors: ReturnType<typeof eb>[] = [];
      if (orgIds.length) ors.push(eb('groups.org_id', 'in', orgIds));
      if (actor.phones.length) ors.push(eb('groups.id', 'in', eb.selectFrom('group_members').select('group_id').where('phone', 'in', actor.phones)));
      return eb.or(ors);
    });
    return q.orderBy('organizations.name').orderBy('groups.name').execute();
  }

  async groupsOfOrg(actor: Actor, orgId: string): Promise<Group[]> {
    await this.get(actor, orgId);
    return this.deps.db.selectFrom('groups').selectAll().where('org_id', '=', orgId).orderBy('name').execute();
  }

  /** Loads a group the actor may act on, or answers 404 (existence does not leak) / 403. */
  async authorizeGroup(actor: Actor, groupId: string, action: 'group.read' | 'group.manage'): Promise<Group> {
    const loaded = await loadGroup(this.deps.db, groupId);
    if (!loaded || !can(actor, 'group.read', { orgId: loaded.group.org_id, groupRolesByPhone: loaded.roles })) throw notFound('Group');
    if (!can(actor, action, { orgId: loaded.group.org_id, groupRolesByPhone: loaded.roles })) {
      throw new ApiError('forbidden', 'Only group admins and organisation admins may do this');
    }
    return loaded.group;
  }

  async canReadGroup(actor: Actor, groupId: string): Promise<boolean> {
    const loaded = await loadGroup(this.deps.db, groupId);
    return !!loaded && can(actor, 'group.read', { orgId: loaded.group.org_id, groupRolesByPhone: loaded.roles });
  }

  async canManageGroup(actor: Actor, groupId: string): Promise<boolean> {
    const loaded = await loadGroup(this.deps.db, groupId);
    return !!loaded && can(actor, 'group.manage', { orgId: loaded.group.org_id, groupRolesByPhone: loaded.roles });
  }

  async addGroupMember(actor: Actor, actorName: string, groupId: string, phoneInput: string, role: string): Promise<void> {
    const group = await this.authorizeGroup(actor, groupId, 'group.manage');
    if (!GROUP_ROLES.includes(role as GroupRole)) throw invalid('role', `must be one of ${GROUP_ROLES.join(', ')}`);
    // The portal's form field is called phone, so the error names it so.
    const added = await addMembers(this.deps, group, normalisePhones([phoneInput], () => 'phone'), role as GroupRole, byPerson(actor));
    if (added.length === 0) throw new ApiError('conflict', 'phone: this number is already a member', { field: 'phone' });
    await this.events.emit(groupId, 'MemberAdded', { member: added[0], memberName: '', type: role === 'admin' ? 'Admin' : 'Member' }, this.source(actor, actorName));
  }

  /** Group admins and organisation admins change a member's role (admin or member). */
  async changeGroupMemberRole(actor: Actor, groupId: string, memberId: string, roleInput: string): Promise<void> {
    const group = await this.authorizeGroup(actor, groupId, 'group.manage');
    if (!GROUP_ROLES.includes(roleInput as GroupRole)) throw invalid('role', `must be one of ${GROUP_ROLES.join(', ')}`);
    await this.deps.db.transaction().execute(async (trx) => {
      const member = await trx.selectFrom('group_members').select('phone').where('group_id', '=', groupId).where('id', '=', memberId).executeTakeFirst();
      if (!member) throw notFound('Member');
      await trx.updateTable('group_members').set({ role: roleInput as GroupRole }).where('group_id', '=', groupId).where('id', '=', memberId).execute();
      await recordAudit(trx, { ...byPerson(actor), orgId: group.org_id, action: 'group.member_role_changed', target: { type: 'group_member', id: memberId }, summary: `${member.phone} in ${group.name} → ${roleInput}`, at: this.deps.clock.now() });
    });
  }

  /** Managers remove anyone; a person may take their own verified number out of a group (leave). */
  async removeGroupMember(actor: Actor, actorName: string, groupId: string, memberId: string): Promise<void> {
    const loaded = await loadGroup(this.deps.db, groupId);
    const resource = loaded && { orgId: loaded.group.org_id, groupRolesByPhone: loaded.roles };
    if (!resource || !can(actor, 'group.read', resource)) throw notFound('Group');
    const member = await this.deps.db.selectFrom('group_members').select('phone').where('group_id', '=', groupId).where('id', '=', memberId).executeTakeFirst();
    if (!member) throw notFound('Member');
    if (!can(actor, 'group.manage', resource) && !can(actor, 'group.leave', { ...resource, memberPhone: member.phone })) {
      throw new ApiError('forbidden', 'Only group admins and organisation admins may remove other members');
    }
    const removed = await removeMember(this.deps, loaded.group, memberId, byPerson(actor));
    await this.events.emit(groupId, 'MemberRemoved', { member: removed.phone, memberName: '', type: removed.role === 'admin' ? 'Admin' : 'Member' }, this.source(actor, actorName));
  }

  /** A person posts into a group they can read. */
  async postUserMessage(actor: Actor, actorName: string, groupId: string, text: string): Promise<Message> {
    await this.authorizeGroup(actor, groupId, 'group.read');
    const msg = await postMessage(this.deps, groupId, { type: 'user', id: actor.userId, name: actorName }, text);
    await this.events.emit(groupId, 'TextMessageCreated', { text: msg.text, referenceId: msg.id }, this.source(actor, actorName));
    return msg;
  }
}

// ---- group data shared by the portal and the platform API (callers have authorised) ----

const membersOf = prepared<{ groupId: string }>()((db, p) => db.selectFrom('group_members')
  .leftJoin('phone_numbers', (j) => j.onRef('phone_numbers.e164', '=', 'group_members.phone').on('phone_numbers.verified_at', 'is not', null))
  .leftJoin('users', 'users.id', 'phone_numbers.user_id')
  .select(['group_members.id', 'group_members.phone', 'group_members.role', 'users.name', 'users.id as user_id'])
  .where('group_members.group_id', '=', p.groupId)
  .orderBy('group_members.created_at').orderBy('group_members.id'));

/** The tables listMembers reads: a cache of its answers must be emptied when they change. */
export const MEMBER_TABLES = ['group_members', 'phone_numbers', 'users'] as const;

export async function listMembers(db: Kysely<Database>, groupId: string): Promise<GroupMember[]> {
  const rows = await membersOf.all(db, { groupId });
  return rows.map((r) => ({ id: r.id, phone: r.phone, role: r.role as GroupRole, isProvisioned: r.user_id !== null, name: r.name }));
}

/**
 * Normalises phone numbers to E.164 before anything is written; duplicates collapse. An invalid
 * number is named as API bodies name it (`members[i]`) unless the caller names its own field.
 */
export function normalisePhones(phones: string[], field: (i: number) => string = (i) => `members[${i}]`): string[] {
  return [...new Set(phones.map((p, i) => toE164(p, field(i))))];
}

/**
 * Inserts the numbers (E.164) that are not yet members and answers those actually added, in the
 * order given. One statement (ON CONFLICT DO NOTHING … RETURNING), so concurrent adds of one
 * number count it once; takes the executor, so it runs inside a caller's transaction.
 */
export async function insertMembers(db: Kysely<Database>, groupId: string, e164s: string[], role: GroupRole, now: number): Promise<{ id: string; phone: string }[]> {
  if (!e164s.length) return [];
  const rows = await db.insertInto('group_members').values(e164s.map((phone) => ({ id: newId(), group_id: groupId, phone, role, created_at: now })))
    .onConflict((oc) => oc.columns(['group_id', 'phone']).doNothing()).returning(['id', 'phone']).execute();
  const added = new Map(rows.map((r) => [r.phone, r.id]));
  return e164s.filter((p) => added.has(p)).map((phone) => ({ id: added.get(phone)!, phone }));
}

type GroupRef = Pick<Group, 'id' | 'org_id' | 'name'>;

/**
 * Adds numbers already normalised with normalisePhones, each added member audited in the same
 * transaction; answers the numbers actually added.
 */
export async function addMembers(deps: Pick<Deps, 'db' | 'clock'>, group: GroupRef, e164s: string[], role: GroupRole, by: AuditBy): Promise<string[]> {
  const now = deps.clock.now();
  return deps.db.transaction().execute(async (trx) => {
    const added = await insertMembers(trx, group.id, e164s, role, now);
    for (const m of added) {
      await recordAudit(trx, { ...by, orgId: group.org_id, action: 'group.member_added', target: { type: 'group_member', id: m.id }, summary: `${m.phone} as ${role} in ${group.name}`, at: now });
    }
    return added.map((m) => m.phone);
  });
}

/** Deletes one member of a group (audited with it) and answers who it was; 404 when there is no such member. */
export async function removeMember(deps: Pick<Deps, 'db' | 'clock'>, group: GroupRef, memberId: string, by: AuditBy): Promise<{ phone: string; role: string }> {
  return deps.db.transaction().execute(async (trx) => {
    const member = await trx.deleteFrom('group_members').where('group_id', '=', group.id).where('id', '=', memberId).returning(['phone', 'role']).executeTakeFirst();
    if (!member) throw notFound('Member');
    await recordAudit(trx, { ...by, orgId: group.org_id, action: 'group.member_removed', target: { type: 'group_member', id: memberId }, summary: `${member.phone} (${member.role}) from ${group.name}`, at: deps.clock.now() });
    return member;
  });
}

export const MESSAGE_MAX = 4000;

const insertMessage = prepared<MessagesTable>()((db, p) => db.insertInto('messages').values({
  id: p.id, group_id: p.group_id, sender_type: p.sender_type, sender_id: p.sender_id, sender_name: p.sender_name, text: p.text, created_at: p.created_at,
}));
const MESSAGE_COLUMNS = ['id', 'group_id', 'sender_type', 'sender_id', 'sender_name', 'text', 'created_at'] as const;
// The messages posted in one turn, committed together (db/group-commit.ts): on PostgreSQL in one
// statement, from their JSON.
const insertMessages = prepared<{ rows: string }>()((db, p) => db.insertInto('messages').columns([...MESSAGE_COLUMNS])
  .expression(sql<MessagesTable>`(select ${sql.join(MESSAGE_COLUMNS.map((c) => sql.ref(c)))} from json_populate_recordset(null::messages, ${p.rows}::json))`));
const postTogether = groupedInserts(insertMessage, insertMessages);

/** Posts a message; `record` (an Idempotency-Key's answer) is written in the same transaction. */
export async function postMessage(deps: Pick<Deps, 'db' | 'clock'>, groupId: string, sender: { type: 'user' | 'connector'; id: string; name: string }, textInput: string, record?: RecordAnswer<Message>): Promise<Message> {
  const text = textInput.trim();
  if (!text) throw invalid('message', 'must not be empty');
  if (text.length > MESSAGE_MAX) throw invalid('message', `must be at most ${MESSAGE_MAX} characters`);
  const now = deps.clock.now();
  const msg = { id: uuidv7(now), group_id: groupId, sender_type: sender.type, sender_id: sender.id, sender_name: sender.name, text, created_at: now };
  const { group_id: _g, ...out } = msg;
  // The common case is one statement with no transaction around it (the platform write's hot
  // path), committed with the other messages of this turn (db/group-commit.ts).
  if (!record) await postTogether(deps.db, msg);
  else {
    await deps.db.transaction().execute(async (trx) => {
      await insertMessage.run(trx, msg);
      await record(trx, out);
    });
  }
  return out;
}

/** Newest first; `before` is the id of the last message of the previous page. */
export async function listMessages(db: Kysely<Database>, groupId: string, limit: number, before?: string): Promise<{ messages: Message[]; nextCursor: string | null }> {
  let q = db.selectFrom('messages').select(['id', 'sender_type', 'sender_id', 'sender_name', 'text', 'created_at'])
    .where('group_id', '=', groupId);
  if (before) q = q.where('id', '<', before);
  const rows = await q.orderBy('id', 'desc').limit(limit + 1).execute();
  const more = rows.length > limit;
  const messages = more ? rows.slice(0, limit) : rows;
  return { messages, nextCursor: more ? messages[messages.length - 1]!.id : null };
}
