// The shape and life of OAuth refresh tokens: `tor_<link id>_<secret>`. The link id (a UUIDv7,
// time-ordered) makes the lookup a primary-key read; the 256-bit secret makes the token
// unguessable; only the SHA-256 of the whole token is stored (migration 0800).
//
// The id is time-ordered so that the links a server appends land at the end of the links' key
// and their spent predecessors within the last hour or so of it, not one at a random place among
// all families each (docs/performance.md, "Production sizes").
//
// Tokens issued before migration 0800 read `tor_<family id>_<position>_<secret>`: their links
// were carried over under the id `<family id>/<position>`, so they keep working until they expire.
import { sha256 } from '../lib/hash.js';
import { randomToken, uuidv7 } from '../lib/ids.js';
import type { OAuthRefreshLinksTable } from '../db/schema.js';

export const REFRESH_TOKEN_PREFIX = 'tor';
/** Zaikio: refresh tokens live 7 days, single use, rotated on every exchange. */
export const REFRESH_TOKEN_TTL_MS = 7 * 24 * 3600_000;

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
// The secret is base64url and may hold `_`: the two shapes differ in length after the id (43
// characters, against a position, `_` and 43).
const FORMAT = new RegExp(`^tor_(${UUID})_[A-Za-z0-9_-]{43}$`);
const CARRIED_OVER = new RegExp(`^tor_(${UUID})_([1-9][0-9]{0,8})_[A-Za-z0-9_-]{43}$`);

/** The id of the link a refresh token names, or undefined when it is not shaped like one. */
export function refreshLinkId(token: string): string | undefined {
  const m = FORMAT.exec(token);
  if (m) return m[1]!;
  const old = CARRIED_OVER.exec(token);
  return old ? `${old[1]!}/${old[2]!}` : undefined;
}

/** A link before it is placed: its family and the link it spends are the caller's. */
export type MintedLink = Omit<OAuthRefreshLinksTable, 'family_id' | 'spends'>;

/** A new refresh token and its link's own columns. */
export function mintRefreshToken(now: number, ttlMs = REFRESH_TOKEN_TTL_MS): { token: string; link: MintedLink } {
  const id = uuidv7(now);
  const token = `${REFRESH_TOKEN_PREFIX}_${id}_${randomToken(32)}`;
  return { token, link: { id, token_hash: sha256(token), created_at: now, expires_at: now + ttlMs } };
}
