// The token service: connector ID + secret + refresh token → a 24-hour access token.
// Refresh tokens live 365 days; once 90% of that has passed, the answer carries a new one.
import type { Deps } from '../deps.js';
import { ApiError } from '../lib/errors.js';
import { safeEqual, sha256 } from '../lib/hash.js';
import { newSecret } from '../lib/ids.js';
import { REFRESH_TOKEN_PREFIX, REFRESH_TOKEN_TTL_MS } from '../grants/grants.service.js';
import { issueAccessToken } from './access-tokens.js';
import { authCache } from './auth-cache.js';

export const REFRESH_ROTATION_FRACTION = 0.9;
// Wrong secrets are counted per connector ID and per client address (RFC 6749 §10.10).
const AUTH_FAILURES = { limit: 20, windowMs: 5 * 60_000 };

export interface AccessTokenResponse {
  accessToken: string;
  endpointUrl: string;
  accessTokenExpiry: number;
  refreshToken: string;
  scope: string;
}

interface ExchangeRow {
  id: string; group_id: string; generation: number; revoked_at: number | null; refresh_token_hash: string | null;
  refresh_token_issued_at: number | null; refresh_token_expires_at: number | null; previous_refresh_token_expires_at: number | null;
  connector_id: string; secret_hash: string; secret_generation: number; permissions: string;
}

export class TokenService {
  constructor(private readonly deps: Deps) {}

  async exchange(applicationId: string, applicationSecret: string, refreshToken: string, ip: string): Promise<AccessTokenResponse> {
    const db = this.deps.db;
    const now = this.deps.clock.now();
    const limitKey = `tokensvc:${applicationId}`;
    const presented = sha256(refreshToken);
    // The grant holding this refresh token, with its connector: from the cache, which any write
    // to grants or connectors empties (auth-cache.ts; that includes the rotation below), or from
    // the database. Unknown tokens are not cached: that path is rate-limited and rare.
    const cache = authCache(db);
    const key = `refresh:${presented}`;
    let row = cache?.get<ExchangeRow>(key);
    if (!row) {
      const epoch = cache?.begin() ?? 0;
      row = await db.selectFrom('grants')
        .innerJoin('connectors', 'connectors.id', 'grants.connector_id')
        .select(['grants.id', 'grants.group_id', 'grants.generation', 'grants.revoked_at', 'grants.refresh_token_hash', 'grants.refresh_token_issued_at',
          'grants.refresh_token_expires_at', 'grants.previous_refresh_token_expires_at', 'grants.connector_id',
          'connectors.secret_hash', 'connectors.secret_generation', 'connectors.permissions'])
        .where((eb) => eb.or([eb('grants.refresh_token_hash', '=', presented), eb('grants.previous_refresh_token_hash', '=', presented)]))
        .executeTakeFirst();
      if (row) cache?.put(key, row, epoch);
    }

    // The secret is checked against the connector named by applicationId, whether or not the
    // refresh token matched, so the answer's timing says nothing about which part was wrong.
    const connector = row && row.connector_id === applicationId
      ? { secret_hash: row.secret_hash }
      : await db.selectFrom('connectors').select('secret_hash').where('id', '=', applicationId).executeTakeFirst();
    const secretOk = safeEqual(sha256(applicationSecret), connector?.secret_hash ?? sha256('no such connector'));
    if (!connector || !secretOk) {
      for (const key of [limitKey, `tokensvc-ip:${ip}`]) {
        const r = await this.deps.limiter.hit(key, AUTH_FAILURES.limit, AUTH_FAILURES.windowMs);
        if (!r.allowed) throw new ApiError('rate_limited', 'Too many failed attempts; try again later', undefined, r.retryAfter);
      }
      throw new ApiError('invalid_credentials', 'applicationId or applicationSecret is not correct');
    }
    if (!row || row.connector_id !== applicationId || row.revoked_at !== null) {
      throw new ApiError('invalid_token', 'refreshToken: is not valid for this connector; ask the group admin for a new one', { field: 'refreshToken' });
    }
    const isCurrent = row.refresh_token_hash === presented;
    const expiresAt_ = isCurrent ? row.refresh_token_expires_at : row.previous_refresh_token_expires_at;
    if (expiresAt_ === null || expiresAt_ <= now) {
      throw new ApiError('token_expired', 'refreshToken: has expired; ask the group admin for a new one', { field: 'refreshToken' });
    }

    const permissions = JSON.parse(row.permissions) as string[];
    const { token, expiresAt } = await issueAccessToken(this.deps,
      { id: row.id, generation: row.generation, groupId: row.group_id },
      { id: applicationId, secretGeneration: row.secret_generation, permissions }, now);

    let newRefreshToken = '';
    const issuedAt = row.refresh_token_issued_at ?? now;
    if (isCurrent && now - issuedAt >= REFRESH_ROTATION_FRACTION * (expiresAt_ - issuedAt)) {
      const candidate = newSecret(REFRESH_TOKEN_PREFIX);
      // Compare-and-set on the current hash: of two concurrent exchanges only one rotates. The
      // old token stays valid until its own expiry, so the loser (or a client that lost the
      // answer) keeps working and picks up the new token from the portal or a later rotation.
      const res = await db.updateTable('grants')
        .set({
          refresh_token_hash: sha256(candidate), refresh_token_issued_at: now, refresh_token_expires_at: now + REFRESH_TOKEN_TTL_MS,
          previous_refresh_token_hash: presented, previous_refresh_token_expires_at: expiresAt_,
        })
        .where('id', '=', row.id).where('refresh_token_hash', '=', presented)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) newRefreshToken = candidate;
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
