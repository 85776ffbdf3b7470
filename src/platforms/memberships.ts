// Platform memberships: persons and organisations that joined a platform, how and when. A person
// joins by signing up on the white-label page or by agreeing on its consent page; an organisation
// when one of its owners agrees (`Org/<uuid>.directory.platform_membership.rw`) or when the
// Platform API creates it for a member. Leaving ends the platform app's grants for the person.
import type { Kysely } from 'kysely';
import type { Deps } from '../deps.js';
import type { Database, JoinedVia, MemberType } from '../db/schema.js';
import { can, type Actor } from '../auth/policy.js';
import { ApiError, notFound } from '../lib/errors.js';
import { deleteConsent, revokeFamiliesOf } from '../oauth/queries.js';
import { addMember, listMembers, membershipsOfPerson, removeMember, type MemberListing } from './queries.js';
import type { Platform } from './platforms.service.js';
import { membershipEvent } from './events.js';

export const MEMBERS_PER_PAGE_MAX = 100;

export class MembershipsService {
  constructor(private readonly deps: Deps) {}

  /** Inside the caller's transaction (the account, consent or organisation it comes with). */
  async join(trx: Kysely<Database>, platform: Pick<Platform, 'id'>, type: MemberType, memberId: string, via: JoinedVia, by: string | null): Promise<boolean> {
    const now = this.deps.clock.now();
    const joined = await addMember(trx, { platform_id: platform.id, member_type: type, member_id: memberId, joined_via: via, joined_by: by, created_at: now });
    if (joined) await membershipEvent(trx, now, platform.id, 'directory.platform_membership_created', { type, id: memberId, joinedVia: via });
    return joined;
  }

  /** The platform's members for its organisation's owners and admins (portal). */
  async list(actor: Actor, platform: Platform, opts: { q?: string | undefined; type?: MemberType | undefined; page: number; perPage: number }): Promise<{ rows: MemberListing[]; total: number }> {
    if (!can(actor, 'org.manage_platforms', { orgId: platform.org_id })) throw new ApiError('forbidden', 'Only owners and admins of the organisation may see its platform\'s members');
    return this.page(platform, opts);
  }

  /** One page of members (the Platform API and the portal). */
  page(platform: Pick<Platform, 'id'>, opts: { q?: string | undefined; type?: MemberType | undefined; page: number; perPage: number }): Promise<{ rows: MemberListing[]; total: number }> {
    const perPage = Math.min(Math.max(1, opts.perPage), MEMBERS_PER_PAGE_MAX);
    return listMembers(this.deps.db, platform.id, { q: opts.q?.trim() || undefined, type: opts.type, limit: perPage, offset: (Math.max(1, opts.page) - 1) * perPage });
  }

  /** The platforms a person belongs to, directly or through their organisations. */
  ofPerson(userId: string) {
    return membershipsOfPerson(this.deps.db, userId);
  }

  /**
   * Ends a membership. A person leaving also withdraws their consent to the platform app and
   * revokes its grants for them, in the same transaction; an organisation's membership is ended
   * by one of its owners or by the platform.
   */
  async end(platform: Pick<Platform, 'id' | 'connector_id'>, type: MemberType, memberId: string, reason: string): Promise<boolean> {
    return this.deps.db.transaction().execute(async (trx) => {
      const now = this.deps.clock.now();
      const removed = await removeMember(trx, platform.id, type, memberId);
      if (removed && type === 'Person') {
        await deleteConsent(trx, memberId, platform.connector_id);
        await revokeFamiliesOf(trx, memberId, platform.connector_id, now, reason);
      }
      if (removed) await membershipEvent(trx, now, platform.id, 'directory.platform_membership_ended', { type, id: memberId });
      return removed;
    });
  }

  /** A person leaves a platform, or an owner takes their organisation out of one (portal). */
  async leave(actor: Actor, platform: Platform, type: MemberType, memberId: string): Promise<void> {
    if (type === 'Person' ? memberId !== actor.userId : !can(actor, 'org.join_platform', { orgId: memberId })) {
      throw new ApiError('forbidden', 'Only the person, or an owner of the organisation, may end this membership');
    }
    if (!(await this.end(platform, type, memberId, 'left the platform'))) throw notFound('Membership');
  }
}
