// Identifiers and secrets. Secrets carry a prefix (tcs_ connector secret, trt_ refresh token, …)
// so that a leaked string says what it is and secret scanners can find it.
import { randomBytes, randomInt, randomUUID } from 'node:crypto';

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
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A 256-bit random secret with a readable prefix. */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** A numeric PIN of the given length, uniformly distributed. */
export function newPin(digits = 6): string {
  return String(randomInt(0, 10 ** digits)).padStart(digits, '0');
}
