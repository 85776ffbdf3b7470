// The shape of OAuth refresh tokens: `tor_<family id>_<position>_<secret>`. The family and the
// position in its chain (migration 0301) make the lookup a primary-key read; the 256-bit secret
// makes the token unguessable; only the SHA-256 of the whole token is stored.
import { sha256 } from '../lib/hash.js';
import { randomToken } from '../lib/ids.js';
import type { OAuthRefreshChainTable } from '../db/schema.js';

export const REFRESH_TOKEN_PREFIX = 'tor';
const FORMAT = /^tor_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_([1-9][0-9]{0,8})_[A-Za-z0-9_-]{43}$/;

export function parseRefreshToken(token: string): { familyId: string; seq: number } | undefined {
  const m = FORMAT.exec(token);
  return m ? { familyId: m[1]!, seq: Number(m[2]) } : undefined;
}

/** The token at a position of a family's chain, and the link that stores its hash. */
export function refreshTokenAt(familyId: string, seq: number, now: number, ttlMs: number): { token: string; link: OAuthRefreshChainTable } {
  const token = `${REFRESH_TOKEN_PREFIX}_${familyId}_${seq}_${randomToken(32)}`;
  return { token, link: { family_id: familyId, seq, token_hash: sha256(token), created_at: now, expires_at: now + ttlMs } };
}
