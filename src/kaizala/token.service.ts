// The token service: connector ID + secret + refresh token → a 24-hour access token.
// Refresh tokens live 365 days; once 90% of that has passed, the answer carries a new one.
import type { Deps } from '../deps.js';
import { ApiError } from '../lib/errors.js';
import { safeEqual, sha256 } from '../lib/hash.js';
import { newSecret } from '../lib/ids.js';
import { FailureLimit, secretFailureRules } from '../lib/rate-limit.js';
import { prepared } from '../db/prepared.js';
import type { ReadCache } from '../db/read-cache.js';
import { REFRESH_TOKEN_PREFIX, REFRESH_TOKEN_TTL_MS } from '../grants/grants.service.js';
import type { PlatformTokens } from './access-tokens.js';

export const REFRESH_ROTATION_FRACTION = 0.9;
// An unknown connector is compared against this, so timing does not tell which part was wrong.
const NO_SUCH_SECRET = sha256('no such connector');

export type AccessTokenResponse = {
  accessToken: string;
  endpointUrl: string;
  accessTokenExpiry: number;
  refreshToken: string;
  scope: string;
};

interface ExchangeRow {
  id: string; group_id: string; generation: number; revoked_at: number | null; refresh_token_hash: string | null;
  refresh_token_issued_at: number | null; refresh_token_expires_at: number | null; previous_refresh_token_expires_at: number | null;
  connector_id: string; secret_hash: string; secret_generation: number; permissions: string;
}

// The grant holding a refresh token (current or, after a rotation, previous), with its connector.
const grantByRefreshToken = prepared<{ hash: string }>()((db, p) => db.selectFrom('grants')
  .innerJoin('connectors', 'connectors.id', 'grants.connector_id')
  .select(['grants.id', 'grants.group_id', 'grants.generation', 'grants.revoked_at', 'grants.refresh_token_hash', 'grants.refresh_token_issued_at',
    'grants.refresh_token_expires_at', 'grants.previous_refresh_token_expires_at', 'grants.connector_id',
    'connectors.secret_hash', 'connectors.secret_generation', 'connectors.permissions'])
  .where((eb) => eb.or([eb('grants.refresh_token_hash', '=', p.hash), eb('grants.previous_refresh_token_hash', '=', p.hash)])));

const connectorSecret = prepared<{ id: string }>()((db, p) => db.selectFrom('connectors').select('secret_hash').where('id', '=', p.id));

// Compare-and-set on the current hash: of two concurrent exchanges only one rotates. Declared an
// update of that one grant, so the caches drop only what they read from it (read-cache.ts).
const rotateRefreshToken = prepared<{ id: string; presented: string; hash: string; now: number; expiresAt: number; previousExpiresAt: number }>({
  updatesRow: { table: 'grants', key: 'id' },
})((db, p) =>
  db.updateTable('grants')
    .set({
      refresh_token_hash: p.hash, refresh_token_issued_at: p.now, refresh_token_expires_at: p.expiresAt,
      previous_refresh_token_hash: p.presented, previous_refresh_token_expires_at: p.previousExpiresAt,
    })
    .where('id', '=', p.id).where('refresh_token_hash', '=', p.presented));

export class TokenService {
  private readonly failures: FailureLimit;
  private readonly grants: ReadCache<ExchangeRow>;

  constructor(private readonly deps: Deps, private readonly tokens: PlatformTokens) {
    this.failures = new FailureLimit(deps.limiter);
    // Emptied by any write to grants or connectors, except that the rotation below drops only the
    // entries of its own grant (read-cache.ts).
    this.grants = deps.caches.region<ExchangeRow>('token-service:grants', { tables: ['grants', 'connectors'], max: 50_000 },
      { grants: (row) => row.id });
  }

  async exchange(applicationId: string, applicationSecret: string, refreshToken: string, ip: string): Promise<AccessTokenResponse> {
    const db = this.deps.db;
    const now = this.deps.clock.now();
    // Wrong secrets are counted per connector and client address (RFC 6749 §10.10).
    const rules = secretFailureRules('tokensvc', applicationId, ip);
    const wait = await this.failures.blocked(rules);
    if (wait !== undefined) throw new ApiError('rate_limited', 'Too many failed attempts; try again later', undefined, wait);

    const presented = sha256(refreshToken);
    const row = await this.grants.load(presented, () => grantByRefreshToken.first(db, { hash: presented }));
    // The secret is checked against the connector named by applicationId, whether or not the
    // refresh token matched, so the answer's timing says nothing about which part was wrong.
    const secretHash = row && row.connector_id === applicationId ? row.secret_hash : (await connectorSecret.first(db, { id: applicationId }))?.secret_hash;
    if (!safeEqual(sha256(applicationSecret), secretHash ?? NO_SUCH_SECRET) || secretHash === undefined) {
      const blocked = await this.failures.fail(rules);
      if (blocked !== undefined) throw new ApiError('rate_limited', 'Too many failed attempts; try again later', undefined, blocked);
      throw new ApiError('invalid_credentials', 'applicationId or applicationSecret is not correct');
    }
    if (!row || row.connector_id !== applicationId || row.revoked_at !== null) {
      throw new ApiError('invalid_token', 'refreshToken: is not valid for this connector; ask the group admin for a new one', { field: 'refreshToken' });
    }
    const isCurrent = row.refresh_token_hash === presented;
    const tokenExpiresAt = isCurrent ? row.refresh_token_expires_at : row.previous_refresh_token_expires_at;
    if (tokenExpiresAt === null || tokenExpiresAt <= now) {
      throw new ApiError('token_expired', 'refreshToken: has expired; ask the group admin for a new one', { field: 'refreshToken' });
    }

    const permissions = JSON.parse(row.permissions) as string[];
    const { token, expiresAt } = await this.tokens.issue(
      { id: row.id, generation: row.generation, groupId: row.group_id },
      { id: applicationId, secretGeneration: row.secret_generation, permissions }, now);

    let newRefreshToken = '';
    const issuedAt = row.refresh_token_issued_at ?? now;
    if (isCurrent && now - issuedAt >= REFRESH_ROTATION_FRACTION * (tokenExpiresAt - issuedAt)) {
      const candidate = newSecret(REFRESH_TOKEN_PREFIX);
      // The old token stays valid until its own expiry, so the loser of a race (or a client that
      // lost the answer) keeps working and picks up the new token from the portal or a later rotation.
      const rotated = await rotateRefreshToken.run(db, {
        id: row.id, presented, hash: sha256(candidate), now, expiresAt: now + REFRESH_TOKEN_TTL_MS, previousExpiresAt: tokenExpiresAt,
      });
      if (rotated === 1) newRefreshToken = candidate;
    }
    return {
      accessToken: token,
      endpointUrl: `${this.deps.config.publicUrl}/`,
      accessTokenExpiry: expiresAt,
      refreshToken: newRefreshToken,
      scope: permissions.join(','),
    };
  }
}
