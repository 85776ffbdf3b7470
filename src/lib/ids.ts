// Identifiers and secrets. Secrets carry a prefix (tcs_ connector secret, trt_ refresh token, …)
// so that a leaked string says what it is and secret scanners can find it.
import { randomFillSync, randomInt, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();

let lastMs = 0;

/**
 * UUIDv7 (RFC 9562): time-ordered, used where the id doubles as a sort key or cursor. Ids made in
 * the same millisecond would sort randomly, so the timestamp is kept strictly increasing within
 * the process (RFC 9562 §6.2, method 3: borrowing the next millisecond).
 */
export function uuidv7(now = Date.now()): string {
  const ms = now > lastMs ? now : lastMs + 1;
  lastMs = ms;
  // The random bits come from a v4 UUID: randomUUID() draws from a pooled buffer, where
  // randomBytes(16) made a call into OpenSSL per id (3% of the token service's CPU). A v4 UUID
  // already carries the RFC 9562 variant; its 12 bits after the version nibble become rand_a and
  // its last 64 bits (variant included) rand_b: 74 random bits, as v7 requires.
  const r = randomUUID();
  const t = ms.toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${r.slice(15, 18)}-${r.slice(19)}`;
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
