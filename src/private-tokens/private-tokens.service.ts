// Private access tokens (Zaikio: organisation → Manage private access tokens): an owner makes a
// token that acts for the organisation on the directory and Platform API without an OAuth client.
// The JWT is signed like an OAuth access token and shown once; listed with creation and last use;
// revoked at once (its id joins the revoked list that offline verifiers read).
import type { Deps } from '../deps.js';
import { byPerson, recordAudit } from '../audit/audit-log.js';
import { can, type Actor } from '../auth/policy.js';
import { secondFactorRequired } from '../auth/second-factor.js';
import { ApiError, FieldChecks, invalid, notFound, requiredText } from '../lib/errors.js';
import { uuidv7 } from '../lib/ids.js';
import { signJwt } from '../keys/jwt.js';
import { AT_TYP } from '../oauth/tokens.js';
import { revokeAccessToken } from '../oauth/queries.js';
import type { PrivateAccessTokensTable } from '../db/schema.js';
import { PRIVATE_TOKEN_CLIENT_ID } from './verify.js';
import { findPrivateToken, insertPrivateToken, listPrivateTokens, markRevoked } from './queries.js';

export const TOKEN_NAME_MAX = 100;
export const MAX_LIFETIME_DAYS = 365;
const DAY_MS = 24 * 3600_000;

/** The scopes an organisation's token may carry; `directory.platform.*` only for a platform owner. */
export const ORGANIZATION_SCOPES = ['directory.organization.r', 'directory.organization.rw', 'directory.audit_log.r'] as const;
export const PLATFORM_SCOPES = ['directory.platform.r', 'directory.platform.rw'] as const;

export type PrivateToken = Omit<PrivateAccessTokensTable, 'created_by'>;

export class PrivateTokensService {
  constructor(private readonly deps: Deps) {}

  private async authorize(actor: Actor, orgId: string): Promise<void> {
    if (actor.needsSecondFactor?.has(orgId)) {
      const org = await this.deps.db.selectFrom('organizations').select('name').where('id', '=', orgId).executeTakeFirstOrThrow();
      throw secondFactorRequired(org.name);
    }
    if (!actor.orgRoles.has(orgId)) throw notFound('Organisation');
    if (!can(actor, 'org.manage_private_tokens', { orgId })) throw new ApiError('forbidden', 'Only owners of the organisation may manage private access tokens');
  }

  /** The scopes this organisation's tokens may carry. */
  async offeredScopes(orgId: string): Promise<string[]> {
    const ownsPlatform = await this.deps.db.selectFrom('platforms').select('id').where('org_id', '=', orgId).executeTakeFirst();
    return [...ORGANIZATION_SCOPES, ...(ownsPlatform ? PLATFORM_SCOPES : [])];
  }

  async list(actor: Actor, orgId: string): Promise<PrivateToken[]> {
    await this.authorize(actor, orgId);
    return listPrivateTokens(this.deps.db, orgId);
  }

  async create(actor: Actor, orgId: string, input: { name: string; scopes: string[]; lifetimeDays: number }): Promise<{ token: string; row: PrivateToken }> {
    await this.authorize(actor, orgId);
    const offered = await this.offeredScopes(orgId);
    const checks = new FieldChecks();
    const name = checks.check(() => requiredText(input.name, 'name', TOKEN_NAME_MAX)) ?? '';
    checks.check(() => {
      if (!input.scopes.length) throw invalid('scopes', 'pick at least one scope');
      const unknown = input.scopes.find((s) => !offered.includes(s));
      if (unknown !== undefined) throw invalid('scopes', `"${unknown}" is not a scope this organisation's tokens may carry`);
    });
    checks.check(() => {
      if (!Number.isInteger(input.lifetimeDays) || input.lifetimeDays < 1 || input.lifetimeDays > MAX_LIFETIME_DAYS) {
        throw invalid('lifetime_days', `must be a whole number of days from 1 to ${MAX_LIFETIME_DAYS}`);
      }
    });
    checks.done();
    const now = this.deps.clock.now();
    const id = uuidv7(now);
    const scopes = [...new Set(input.scopes)];
    const expiresAt = now + input.lifetimeDays * DAY_MS;
    const row: PrivateToken = { id, org_id: orgId, name, scope: scopes.join(' '), created_at: now, expires_at: expiresAt, last_used_at: null, revoked_at: null };
    await this.deps.db.transaction().execute(async (trx) => {
      await insertPrivateToken(trx, { ...row, created_by: actor.userId });
      await recordAudit(trx, { ...byPerson(actor), orgId, action: 'private_token.created', target: { type: 'private_token', id }, summary: `${name}: ${scopes.join(' ')}, ${input.lifetimeDays} days`, at: now });
    });
    const issuer = this.deps.config.publicUrl;
    // The claims of Zaikio's tokens: sub names the bearer, scope is a list; aud the issuer and
    // the directory app, as verifiers of either kind look for.
    const token = await signJwt(this.deps.keys, { client_id: PRIVATE_TOKEN_CLIENT_ID, scope: scopes }, {
      typ: AT_TYP, issuer, audience: [issuer, 'directory'], subject: `Organization/${orgId}`, jti: id, issuedAt: now, expiresAt,
    });
    return { token, row };
  }

  async revoke(actor: Actor, orgId: string, id: string): Promise<void> {
    await this.authorize(actor, orgId);
    const row = await findPrivateToken(this.deps.db, id);
    if (!row || row.org_id !== orgId) throw notFound('Private access token');
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await markRevoked(trx, orgId, id, now))) return;
      if (row.expires_at > now) await revokeAccessToken(trx, id, row.expires_at);
      await recordAudit(trx, { ...byPerson(actor), orgId, action: 'private_token.revoked', target: { type: 'private_token', id }, summary: row.name, at: now });
    });
  }
}
