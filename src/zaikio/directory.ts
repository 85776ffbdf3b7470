// The directory's resources in Zaikio's shapes (docs/zaikio.md): a person with their
// organisation memberships, an organisation with its members, and creating an organisation in a
// person's name. Timestamps are ISO 8601; a membership's id is derived from the organisation and
// the person (org_members has no id of its own), so it is stable across calls.
import { createHash } from 'node:crypto';
import type { Deps } from '../deps.js';
import type { OrgRole } from '../db/schema.js';
import { ApiError, notFound } from '../lib/errors.js';
import type { OrgsService } from '../orgs/orgs.service.js';
import type { AccountsService } from '../accounts/accounts.service.js';
import { ORG_NAME_MAX } from '../orgs/orgs.service.js';
import type { MembershipsService } from '../platforms/memberships.js';
import type { RecordAnswer } from '../idempotency/idempotency.js';
import type { MeansOfPayment, MeansOfPaymentService } from '../payments/means-of-payment.js';

export interface ZaikioOrganization { id: string; name: string; country_code: string | null; created_at: string; updated_at: string }
export interface ZaikioPersonRef { id: string; name: string; full_name: string; email: string }
export interface ZaikioPerson extends ZaikioPersonRef { created_at: string; updated_at: string; organization_memberships: PersonMembership[] }
export interface PersonMembership { id: string; roles: OrgRole[]; joined_at: string; organization: ZaikioOrganization }
export interface OrganizationMembership { id: string; roles: OrgRole[]; joined_at: string; person: ZaikioPersonRef }

const iso = (ms: number): string => new Date(ms).toISOString();

/** A UUID-shaped id for the (organisation, person) pair. */
export function membershipId(orgId: string, userId: string): string {
  const h = createHash('sha256').update(`${orgId}/${userId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((Number.parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const organizationShape = (o: { id: string; name: string; country_code: string | null; created_at: number }): ZaikioOrganization =>
  ({ id: o.id, name: o.name, country_code: o.country_code, created_at: iso(o.created_at), updated_at: iso(o.created_at) });

const personRef = (u: { id: string; name: string; email: string }): ZaikioPersonRef => ({ id: u.id, name: u.name, full_name: u.name, email: u.email });

/**
 * ISO 3166-1 alpha-2, as Intl (CLDR) knows the regions, without the codes ISO leaves to users
 * (AA, QM–QZ, XA–XZ, ZZ: CLDR names ZZ "Unknown Region") and CLDR's groupings (EU, EZ, UN).
 */
const REGIONS = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
const NOT_COUNTRIES = /^(AA|Q[M-Z]|X[A-Z]|ZZ|EU|EZ|UN)$/;
export const isCountryCode = (code: string): boolean => /^[A-Z]{2}$/.test(code) && !NOT_COUNTRIES.test(code) && REGIONS.of(code) !== undefined;

export class DirectoryService {
  constructor(private readonly deps: Deps, private readonly accounts: AccountsService, private readonly orgs: OrgsService, private readonly memberships: MembershipsService,
    private readonly payments: MeansOfPaymentService) {}

  async personMemberships(userId: string): Promise<PersonMembership[]> {
    const rows = await this.deps.db.selectFrom('org_members').innerJoin('organizations', 'organizations.id', 'org_members.org_id')
      .select(['organizations.id', 'organizations.name', 'organizations.country_code', 'organizations.created_at', 'org_members.role', 'org_members.created_at as joined_at'])
      .where('org_members.user_id', '=', userId).orderBy('organizations.name').orderBy('organizations.id').execute();
    return rows.map((r) => ({ id: membershipId(r.id, userId), roles: [r.role], joined_at: iso(r.joined_at), organization: organizationShape(r) }));
  }

  async person(userId: string): Promise<ZaikioPerson> {
    const user = await this.accounts.getUser(userId);
    if (!user) throw notFound('Person');
    return { ...personRef(user), created_at: iso(user.created_at), updated_at: iso(user.created_at), organization_memberships: await this.personMemberships(userId) };
  }

  async organization(orgId: string): Promise<ZaikioOrganization> {
    const org = await this.deps.db.selectFrom('organizations').select(['id', 'name', 'country_code', 'created_at']).where('id', '=', orgId).executeTakeFirst();
    if (!org) throw notFound('Organization');
    return organizationShape(org);
  }

  /** The organisation as its own token reads it: with its means of payment, masked. */
  async organizationDetail(orgId: string): Promise<ZaikioOrganization & { means_of_payment: MeansOfPayment | null }> {
    const [org, payment] = await Promise.all([this.organization(orgId), this.payments.get(orgId)]);
    return { ...org, means_of_payment: payment };
  }

  async organizationMemberships(orgId: string): Promise<OrganizationMembership[]> {
    const rows = await this.deps.db.selectFrom('org_members').innerJoin('users', 'users.id', 'org_members.user_id')
      .select(['users.id', 'users.name', 'users.email', 'org_members.role', 'org_members.created_at'])
      .where('org_members.org_id', '=', orgId).orderBy('users.email').execute();
    return rows.map((r) => ({ id: membershipId(orgId, r.id), roles: [r.role], joined_at: iso(r.created_at), person: personRef(r) }));
  }

  /**
   * Creates an organisation with the person as its owner. Called by a platform's app (or through
   * the Platform API for a member) it makes the organisation a member of that platform in the
   * same transaction.
   */
  async createOrganization(userId: string, input: { name?: unknown; country_code?: unknown }, platform?: { id: string }, record?: RecordAnswer<ZaikioOrganization>): Promise<ZaikioOrganization> {
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    const country = typeof input.country_code === 'string' ? input.country_code.trim().toUpperCase() : '';
    const errors: Record<string, string[]> = {};
    if (!name) errors.name = ["can't be blank"];
    else if (name.length > ORG_NAME_MAX) errors.name = [`is too long (maximum is ${ORG_NAME_MAX} characters)`];
    if (!country) errors.country_code = ["can't be blank"];
    else if (!isCountryCode(country)) errors.country_code = ['is not a country code (ISO 3166-1 alpha-2)'];
    if (Object.keys(errors).length) throw new ApiError('unprocessable', 'the organization is not valid', { errors });
    const actor = await this.accounts.actor(userId);
    let made: ZaikioOrganization | undefined;
    await this.orgs.create(actor, name, {
      countryCode: country,
      also: async (trx, orgId, now) => {
        if (platform) await this.memberships.join(trx, platform, 'Organization', orgId, 'api', userId);
        made = organizationShape({ id: orgId, name, country_code: country, created_at: now });
        if (record) await record(trx, made);
      },
    });
    return made!;
  }
}
