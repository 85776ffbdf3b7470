// Verifying a private access token: a JWT like the OAuth access tokens (same keys, typ at+jwt,
// iss, aud, jti, exp), whose client_id says it is a private token and whose sub names the
// organisation (`Organization/<uuid>`). It is active while its row exists, is not revoked and
// belongs to that organisation; use is recorded at most once a minute, so a busy integration
// does not turn every read into a write.
import type { JWTPayload } from 'jose';
import type { Deps } from '../deps.js';
import type { ActiveAccessToken } from '../oauth/tokens.js';
import { findPrivateToken, touchPrivateToken } from './queries.js';

/** The client_id claim of private access tokens (RFC 9068 requires one; no OAuth client made them). */
export const PRIVATE_TOKEN_CLIENT_ID = 'private_access_token';
const LAST_USE_GRANULARITY_MS = 60_000;

export async function checkPrivateToken(deps: Deps, p: JWTPayload, now: number): Promise<ActiveAccessToken | 'invalid'> {
  const row = await findPrivateToken(deps.db, p.jti!);
  if (!row || row.revoked_at !== null || p.sub !== `Organization/${row.org_id}`) return 'invalid';
  if (row.last_used_at === null || now - row.last_used_at >= LAST_USE_GRANULARITY_MS) await touchPrivateToken(deps.db, row.id, now);
  return {
    jti: row.id, bearer: { id: row.org_id, type: 'Organization' }, sub: p.sub, clientId: PRIVATE_TOKEN_CLIENT_ID, scope: row.scope,
    familyId: null, userId: null, iat: p.iat ?? 0, exp: p.exp ?? 0, aud: Array.isArray(p.aud) ? p.aud : p.aud ? [p.aud] : [],
  };
}
