// Access tokens for the platform API: JWTs per RFC 9068 (typ at+jwt), signed with Tessera's
// current key, 24 hours long. Besides the standard claims they carry the grant they were issued
// under and two generations; a token is honoured only while its grant is active and both
// generations still match, so revoking a grant, replacing its refresh token, rotating the
// connector's secret or deleting the connector stops it at once.
import type { Deps } from '../deps.js';
import { ApiError } from '../lib/errors.js';
import { uuidv7 } from '../lib/ids.js';
import { signJwt, verifyJwt } from '../keys/jwt.js';
import { isPermission, type Permission } from '../connectors/permissions.js';
import { authCache } from './auth-cache.js';

export const ACCESS_TOKEN_TTL_MS = 24 * 3600 * 1000;
export const ACCESS_TOKEN_TYP = 'at+jwt';

export interface PlatformContext {
  connectorId: string;
  connectorName: string;
  grantId: string;
  groupId: string;
  orgId: string;
  permissions: Set<Permission>;
}

export const platformAudience = (publicUrl: string): string => `${publicUrl}/v1`;

export async function issueAccessToken(
  deps: Deps,
  grant: { id: string; generation: number; groupId: string },
  connector: { id: string; secretGeneration: number; permissions: string[] },
  now: number,
): Promise<{ token: string; expiresAt: number }> {
  const expiresAt = now + ACCESS_TOKEN_TTL_MS;
  const token = await signJwt(deps.keys, {
    client_id: connector.id,
    scope: connector.permissions.join(' '),
    gid: grant.id,
    grp: grant.groupId,
    ggen: grant.generation,
    cgen: connector.secretGeneration,
  }, {
    typ: ACCESS_TOKEN_TYP,
    issuer: deps.config.publicUrl,
    audience: platformAudience(deps.config.publicUrl),
    subject: connector.id,
    jti: uuidv7(now),
    issuedAt: now,
    expiresAt,
  });
  return { token, expiresAt };
}

interface GrantRow {
  id: string; group_id: string; generation: number; revoked_at: number | null; connector_id: string;
  connector_name: string; secret_generation: number; permissions: string; org_id: string;
}

/** Verifies a platform access token and loads what it may do; throws 401 with a stable code otherwise. */
export async function authenticatePlatformToken(deps: Deps, token: string | undefined): Promise<PlatformContext> {
  if (!token) throw new ApiError('unauthenticated', 'accessToken: send the access token in the accessToken header or as Authorization: Bearer', { field: 'accessToken' });
  const now = deps.clock.now();
  // A token whose signature was checked before is not checked again (ECDSA verification was the
  // largest cost of a platform request); its expiry is, and the grant below still decides.
  const cache = authCache(deps.db);
  let p = cache?.verifiedToken(token, now);
  if (p === 'expired') throw new ApiError('token_expired', 'accessToken: has expired; get a new one from the token service', { field: 'accessToken' });
  if (!p) {
    const verified = await verifyJwt(deps.keys, token, { issuer: deps.config.publicUrl, audience: platformAudience(deps.config.publicUrl), typ: ACCESS_TOKEN_TYP, now });
    if (!verified.ok) {
      throw verified.reason === 'expired'
        ? new ApiError('token_expired', 'accessToken: has expired; get a new one from the token service', { field: 'accessToken' })
        : new ApiError('invalid_token', 'accessToken: is not a valid access token', { field: 'accessToken' });
    }
    p = verified.payload;
    cache?.rememberToken(token, p);
  }
  if (typeof p.gid !== 'string' || typeof p.ggen !== 'number' || typeof p.cgen !== 'number') {
    throw new ApiError('invalid_token', 'accessToken: is not a platform access token', { field: 'accessToken' });
  }
  // The grant, connector and group as they are now: from the cache, which every write to those
  // tables empties (auth-cache.ts), or from the database.
  const key = `platform:${p.gid}`;
  let row = cache?.get<GrantRow>(key);
  if (!row) {
    const epoch = cache?.begin() ?? 0;
    row = await deps.db.selectFrom('grants')
      .innerJoin('connectors', 'connectors.id', 'grants.connector_id')
      .innerJoin('groups', 'groups.id', 'grants.group_id')
      .select(['grants.id', 'grants.group_id', 'grants.generation', 'grants.revoked_at', 'connectors.id as connector_id',
        'connectors.name as connector_name', 'connectors.secret_generation', 'connectors.permissions', 'groups.org_id'])
      .where('grants.id', '=', p.gid)
      .executeTakeFirst();
    if (row) cache?.put(key, row, epoch);
  }
  if (!row || row.revoked_at !== null || row.generation !== p.ggen || row.secret_generation !== p.cgen || row.connector_id !== p.sub) {
    throw new ApiError('invalid_token', 'accessToken: has been revoked', { field: 'accessToken' });
  }
  // The token's scope, narrowed by whatever the connector may still do today.
  const current = new Set(JSON.parse(row.permissions) as string[]);
  const scope = typeof p.scope === 'string' ? p.scope.split(' ') : [];
  const permissions = new Set(scope.filter((s): s is Permission => isPermission(s) && current.has(s)));
  return { connectorId: row.connector_id, connectorName: row.connector_name, grantId: row.id, groupId: row.group_id, orgId: row.org_id, permissions };
}
