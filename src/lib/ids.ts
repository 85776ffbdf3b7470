// Identifiers and secrets. Secrets carry a prefix (tcs_ connector secret, trt_ refresh token, …)
// so that a leaked string says what it is and secret scanners can find it.
import { randomFillSync, randomInt, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();

let lastMs = 0;
let seq = 0;

/**
 * UUIDv7 (RFC 9562): time-ordered, used where the id doubles as a sort key or cursor (messages,
 * audit events, token ids). Ids made in the same millisecond must still sort in the order they
 * were made, so rand_a holds a 12-bit counter (RFC 9562 §6.2, method 1): it starts at a random
 * value in its lower half each millisecond and counts up; only after 4,096 ids in one millisecond
 * is the next millisecond borrowed, so under load the timestamps stay on the clock (borrowing a
 * millisecond per id ran them minutes ahead, and a restarted or second instance then made ids
 * that sorted before older ones).
 */
export function uuidv7(now = Date.now()): string {
  // randomUUID() draws from a pooled buffer (randomBytes(16) called into OpenSSL per id, 3% of
  // the token service's CPU); its last 64 bits, RFC 9562 variant included, become rand_b.
  const r = randomUUID();
  if (now > lastMs) {
    lastMs = now;
    seq = Number.parseInt(r.slice(15, 18), 16) & 0x7ff;
  } else if (++seq > 0xfff) {
    lastMs += 1;
    seq = 0;
  }
  const t = lastMs.toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${seq.toString(16).padStart(3, '0')}-${r.slice(19)}`;
}

/**
 * A string that sorts (byte by byte) after every UUIDv7 made before `ms` and before every one
 * made at or after it: its timestamp, the first 48 bits, as they are written.
 */
export function uuidv7Floor(ms: number): string {
  const t = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}`;
}

// Random bytes for secrets come from a pooled buffer refilled 4 KiB at a time: a call into
// OpenSSL per secret was a measurable share of the token endpoint. Every byte is used once.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/** n bytes from the CSPRNG, as base64url. */
export function randomToken(bytes = 32): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = pool.toString('base64url', poolOffset, poolOffset + bytes);
  pool.fill(0, poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return out;
}

/** A 256-bit random secret with a readable prefix. */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomToken(32)}`;
}

/** A numeric PIN of the given length, uniformly distributed. */
export function newPin(digits = 6): string {
  return String(randomInt(0, 10 ** digits)).padStart(digits, '0');
}
