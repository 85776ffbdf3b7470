// The Platform API (docs/zaikio.md, "Platform API"): what a platform's owner organisation does
// with its members through a private access token (`directory.platform.r` / `.rw`) or its
// platform app's client credentials (`Org/<owner uuid>.directory.platform.rw`). A platform sees
// only its own members: another platform, or a person who is not its member, is 404.
import type { Deps } from '../deps.js';
import type { MemberType } from '../db/schema.js';
import { notFound } from '../lib/errors.js';
import type { ActiveAccessToken } from '../oauth/tokens.js';
import { requireAccess } from '../zaikio/access.js';
import type { DirectoryService, ZaikioOrganization } from '../zaikio/directory.js';
import type { RecordAnswer } from '../idempotency/idempotency.js';
import type { MembershipsService } from './memberships.js';
import type { Platform, PlatformsService } from './platforms.service.js';
import { findMember } from './queries.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export interface PlatformMemberShape { type: MemberType; id: string; name: string; email?: string; joined_via: string; joined_at: string }

export class PlatformApi {
  constructor(private readonly deps: Deps, private readonly platforms: PlatformsService, private readonly memberships: MembershipsService, private readonly directory: DirectoryService) {}

  /** The platform the token may use: its bearer owns it, and the scope allows the access. */
  async platformFor(token: ActiveAccessToken, name: string, need: 'r' | 'w'): Promise<Platform> {
    const orgId = requireAccess(token, 'Organization', 'platform', need);
    const platform = await this.platforms.byName(name);
    if (!platform || platform.org_id !== orgId) throw notFound('Platform');
    return platform;
  }

  async read(platform: Platform) {
    const owner = await this.directory.organization(platform.org_id);
    const { total } = await this.memberships.page(platform, { page: 1, perPage: 1 });
    return {
      id: platform.id, name: platform.name, display_name: platform.display_name, primary_color: platform.primary_color,
      support_contact: platform.support_contact, logo_url: this.logoUrl(platform), app_id: platform.connector_id,
      organization: owner, members_count: total, created_at: iso(platform.created_at), updated_at: iso(platform.updated_at),
    };
  }

  logoUrl(platform: Platform): string | null {
    if (platform.has_logo) return `${this.deps.config.publicUrl}/${platform.name}/logo?v=${platform.updated_at}`;
    return platform.logo_url;
  }

  async members(platform: Platform, opts: { type?: MemberType | undefined; q?: string | undefined; page: number; perPage: number }) {
    const { rows, total } = await this.memberships.page(platform, opts);
    const members: PlatformMemberShape[] = rows.map((m) => ({
      type: m.member_type, id: m.member_id, name: m.name, ...(m.email ? { email: m.email } : {}), joined_via: m.joined_via, joined_at: iso(m.created_at),
    }));
    return { members, total };
  }

  /** A member person, with their organisations and which of those are members too. */
  async person(platform: Platform, personId: string) {
    const member = await findMember(this.deps.db, platform.id, 'Person', personId);
    if (!member) throw notFound('Member');
    const person = await this.directory.person(personId);
    const orgIds = person.organization_memberships.map((m) => m.organization.id);
    const memberOrgs = new Set(orgIds.length
      ? (await this.deps.db.selectFrom('platform_members').select('member_id').where('platform_id', '=', platform.id).where('member_type', '=', 'Organization').where('member_id', 'in', orgIds).execute()).map((r) => r.member_id)
      : []);
    return {
      id: person.id, name: person.name, full_name: person.full_name, email: person.email, joined_via: member.joined_via, joined_at: iso(member.created_at),
      organizations: person.organization_memberships.map((m) => ({ ...m.organization, roles: m.roles, platform_member: memberOrgs.has(m.organization.id) })),
    };
  }

  /** An organisation in a member person's name: its owner, and a member of the platform, in one transaction. */
  async createOrganization(platform: Platform, personId: string, input: { name?: unknown; country_code?: unknown }, record?: RecordAnswer<ZaikioOrganization>): Promise<ZaikioOrganization> {
    if (!(await findMember(this.deps.db, platform.id, 'Person', personId))) throw notFound('Member');
    return this.directory.createOrganization(personId, input, platform, record);
  }

  async end(platform: Platform, type: MemberType, id: string): Promise<void> {
    if (!(await this.memberships.end(platform, type, id, 'membership ended by the platform'))) throw notFound('Member');
  }
}
