// What a connector may do with an access token: the granted group and its subgroups only, and
// only what its permissions allow. Another group answers 404, so existence does not leak; a
// missing permission answers 403 naming it.
import type { Deps } from '../deps.js';
import { ApiError, notFound } from '../lib/errors.js';
import type { Permission } from '../connectors/permissions.js';
import { addMembers, listMembers, listMessages, MEMBER_TABLES, normalisePhones, postMessage, removeMember, type Message, type OrgsService } from '../orgs/orgs.service.js';
import type { GroupsTable } from '../db/schema.js';
import type { Group } from '../orgs/orgs.service.js';
import type { RecordAnswer } from '../idempotency/idempotency.js';
import { prepared } from '../db/prepared.js';
import type { ReadCache } from '../db/read-cache.js';
import { byConnector, type PlatformContext } from './access-tokens.js';
import type { ClientInfo } from '../audit/audit-log.js';
import type { EventSource, WebhookEvents } from '../webhooks/events.js';

const MAX_DEPTH = 16;

const groupById = prepared<{ id: string }>()((db, p) => db.selectFrom('groups').selectAll().where('id', '=', p.id));

export type GroupSummary = {
  groupId: string;
  groupName: string;
  groupImageUrl: string;
  hasSubGroups: boolean;
  hasParentGroups: boolean;
  groupType: string;
  userCount: number;
  callerRole: string;
};

export interface PlatformMember { id: string; role: 'Admin' | 'Member'; mobileNumber: string; isProvisioned: boolean }

export type CreatedSubGroup = { groupName: string; groupId: string; membersAdded: number };

export class PlatformService {
  // Every platform call reads its group (and, for subgroups, the chain up to the granted group);
  // member lists are the most requested read. Both are emptied by any change to their tables.
  private readonly groups: ReadCache<GroupsTable>;
  private readonly memberLists: ReadCache<readonly PlatformMember[]>;

  constructor(private readonly deps: Deps, private readonly orgs: OrgsService, private readonly events: WebhookEvents) {
    this.groups = deps.caches.region('platform:groups', { tables: ['groups'], max: 50_000 });
    this.memberLists = deps.caches.region('platform:members', { tables: MEMBER_TABLES, max: 5_000 });
  }

  private group(id: string): Promise<GroupsTable | undefined> {
    return this.groups.load(id, () => groupById.first(this.deps.db, { id }));
  }

  private source(ctx: PlatformContext): EventSource {
    return { userId: ctx.connectorId, name: ctx.connectorName, phone: '' };
  }

  require(ctx: PlatformContext, permission: Permission): void {
    if (!ctx.permissions.has(permission)) {
      throw new ApiError('insufficient_permission', `This connector lacks the ${permission} permission`, { permission });
    }
  }

  /** The group, if it is the granted group or one of its subgroups. */
  async groupInScope(ctx: PlatformContext, groupId: string): Promise<GroupsTable> {
    const group = await this.group(groupId);
    if (!group || group.org_id !== ctx.orgId) throw notFound('Group');
    let cursor: GroupsTable | undefined = group;
    for (let depth = 0; cursor && depth < MAX_DEPTH; depth++) {
      if (cursor.id === ctx.groupId) return group;
      if (!cursor.parent_id) break;
      cursor = await this.group(cursor.parent_id);
    }
    throw notFound('Group');
  }

  async summary(group: GroupsTable): Promise<GroupSummary> {
    const db = this.deps.db;
    const [count, child] = await Promise.all([
      db.selectFrom('group_members').select((eb) => eb.fn.countAll<number>().as('n')).where('group_id', '=', group.id).executeTakeFirstOrThrow(),
      db.selectFrom('groups').select('id').where('parent_id', '=', group.id).limit(1).executeTakeFirst(),
    ]);
    return {
      groupId: group.id,
      groupName: group.name,
      groupImageUrl: '',
      hasSubGroups: !!child,
      hasParentGroups: group.parent_id !== null,
      groupType: group.group_type,
      userCount: Number(count.n),
      callerRole: 'Connector',
    };
  }

  async listGroups(ctx: PlatformContext): Promise<GroupSummary[]> {
    this.require(ctx, 'groupinfo.read');
    return [await this.summary(await this.groupInScope(ctx, ctx.groupId))];
  }

  async getGroup(ctx: PlatformContext, groupId: string): Promise<GroupSummary> {
    this.require(ctx, 'groupinfo.read');
    return this.summary(await this.groupInScope(ctx, groupId));
  }

  async subGroups(ctx: PlatformContext, groupId: string): Promise<GroupSummary[]> {
    this.require(ctx, 'groupinfo.read');
    const parent = await this.groupInScope(ctx, groupId);
    const children = await this.deps.db.selectFrom('groups').selectAll().where('parent_id', '=', parent.id).orderBy('name').execute();
    return Promise.all(children.map((g) => this.summary(g)));
  }

  async createSubGroup(ctx: PlatformContext, client: ClientInfo, groupId: string, input: { name: string; welcomeMessage?: string; members?: string[]; groupType?: string }, record?: RecordAnswer<CreatedSubGroup>): Promise<CreatedSubGroup> {
    this.require(ctx, 'groupinfo.write');
    if (input.members?.length) this.require(ctx, 'groupmember.write');
    const parent = await this.groupInScope(ctx, groupId);
    // Every number is checked before anything is written; the group and its members are then
    // inserted in one transaction, so a bad number never leaves an empty group behind.
    const members = normalisePhones(input.members ?? []);
    const created = (r: { group: Group; membersAdded: string[] }): CreatedSubGroup => ({ groupName: r.group.name, groupId: r.group.id, membersAdded: r.membersAdded.length });
    return created(await this.orgs.insertGroup(parent.org_id, {
      name: input.name, welcomeMessage: input.welcomeMessage, parentId: parent.id, groupType: input.groupType, members,
    }, byConnector(ctx, client), undefined, record && ((trx, r) => record(trx, created(r)))));
  }

  /** The members in the API's shape; the same array for every request until the members change. */
  async members(ctx: PlatformContext, groupId: string): Promise<readonly PlatformMember[]> {
    this.require(ctx, 'groupmember.read');
    await this.groupInScope(ctx, groupId);
    return (await this.memberLists.load(groupId, async () => (await listMembers(this.deps.db, groupId))
      .map((m) => ({ id: m.id, role: m.role === 'admin' ? 'Admin' : 'Member', mobileNumber: m.phone, isProvisioned: m.isProvisioned }))))!;
  }

  async addMembers(ctx: PlatformContext, client: ClientInfo, groupId: string, phones: string[]): Promise<number> {
    this.require(ctx, 'groupmember.write');
    const group = await this.groupInScope(ctx, groupId);
    const added = await addMembers(this.deps, group, normalisePhones(phones), 'member', byConnector(ctx, client));
    for (const phone of added) await this.events.emit(groupId, 'MemberAdded', { member: phone, memberName: '', type: 'Member' }, this.source(ctx));
    return added.length;
  }

  async removeMember(ctx: PlatformContext, client: ClientInfo, groupId: string, memberId: string): Promise<void> {
    this.require(ctx, 'groupmember.remove');
    const group = await this.groupInScope(ctx, groupId);
    const removed = await removeMember(this.deps, group, memberId, byConnector(ctx, client));
    await this.events.emit(groupId, 'MemberRemoved', { member: removed.phone, memberName: '', type: removed.role === 'admin' ? 'Admin' : 'Member' }, this.source(ctx));
  }

  async postMessage(ctx: PlatformContext, groupId: string, text: string, record?: RecordAnswer<Message>): Promise<Message> {
    this.require(ctx, 'textmessage.write');
    await this.groupInScope(ctx, groupId);
    const msg = await postMessage(this.deps, groupId, { type: 'connector', id: ctx.connectorId, name: ctx.connectorName }, text, record);
    await this.events.emit(groupId, 'TextMessageCreated', { text: msg.text, referenceId: msg.id }, this.source(ctx));
    return msg;
  }

  async messages(ctx: PlatformContext, groupId: string, limit: number, cursor?: string): Promise<{ messages: Message[]; nextCursor: string | null }> {
    this.require(ctx, 'textmessage.read');
    await this.groupInScope(ctx, groupId);
    return listMessages(this.deps.db, groupId, limit, cursor);
  }
}
