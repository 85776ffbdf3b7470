// An organisation's "requires two-factor authentication" (the Zaikio seed recommends it for a
// platform owner organisation). The rule lives here alone: a member without two-factor
// authentication does not act for such an organisation. Who a person acts for is read through
// `memberRoles`, which leaves those organisations out of the roles (so every policy decision
// treats the person as not a member there) and lists them apart, so the portal can send the
// person to enrolment and the consent and private-token paths can say why.
import type { Kysely } from 'kysely';
import type { Database, OrgRole } from '../db/schema.js';
import { ApiError } from '../lib/errors.js';

export interface MemberRoles {
  /** The organisations the person may act for, with their role. */
  roles: Map<string, OrgRole>;
  /** Organisations the person belongs to but may not act for until they turn on 2FA. */
  needsSecondFactor: Set<string>;
}

/**
 * `passed` says whether the log-in at hand passed a second factor (a session's flag: a TOTP or
 * recovery code, or MFA the identity provider asserted). Where no log-in is at hand (a refresh, a
 * bearer token) it is undefined, and a linked identity whose provider asserted MFA at its latest
 * sign-in counts. Enrolled TOTP always counts: every log-in of such a person asks for it.
 */
export async function memberRoles(db: Kysely<Database>, userId: string, orgIds?: string[], passed?: boolean): Promise<MemberRoles> {
  if (orgIds && !orgIds.length) return { roles: new Map(), needsSecondFactor: new Set() };
  let q = db.selectFrom('org_members').innerJoin('organizations', 'organizations.id', 'org_members.org_id')
    .select(['org_members.org_id', 'org_members.role', 'organizations.require_two_factor']).where('org_members.user_id', '=', userId);
  if (orgIds) q = q.where('org_members.org_id', 'in', orgIds);
  const rows = await q.execute();
  const demanding = rows.filter((r) => r.require_two_factor === 1);
  const hasSecondFactor = demanding.length > 0 && (passed === true || await hasTotp(db, userId) || (passed === undefined && await providerAssertedMfa(db, userId)));
  const needsSecondFactor = new Set(hasSecondFactor ? [] : demanding.map((r) => r.org_id));
  return { roles: new Map(rows.filter((r) => !needsSecondFactor.has(r.org_id)).map((r) => [r.org_id, r.role])), needsSecondFactor };
}

const hasTotp = async (db: Kysely<Database>, userId: string): Promise<boolean> =>
  (await db.selectFrom('two_factor').select('user_id').where('user_id', '=', userId).where('enabled_at', 'is not', null).executeTakeFirst()) !== undefined;

const providerAssertedMfa = async (db: Kysely<Database>, userId: string): Promise<boolean> =>
  (await db.selectFrom('user_identities').select('id').where('user_id', '=', userId).where('mfa', '=', 1).executeTakeFirst()) !== undefined;

export const secondFactorRequired = (orgName: string): ApiError =>
  new ApiError('two_factor_required', `${orgName} requires two-factor authentication: turn it on under Account to act for it`);
