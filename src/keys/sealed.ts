// Secrets Tessera keeps in its own database — the private signing keys and the instance secrets
// (CSRF key, webhook encryption key) — sealed at rest under MASTER_KEY when one is configured, so
// a copy of the database (a backup, a replica, a stolen SQLite file) cannot sign tokens or forge
// forms. AES-256-GCM with a fresh 96-bit nonce per value; the row a value belongs to is the
// additional authenticated data, so a sealed value copied into another row does not open.
//
// Without MASTER_KEY the values are stored as they are (the embedded quick start needs no
// setup). Values written before a key was configured are sealed at the next start; a database
// whose values are sealed refuses to start without the key, or with another one.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const PREFIX = 'sealed:v1:';
const NONCE = 12;
const TAG = 16;

export class SealError extends Error {
  override name = 'SealError';
}

export class Sealer {
  /** @param key 32 bytes, or undefined to store values as they are. */
  constructor(private readonly key: Buffer | undefined) {}

  get enabled(): boolean {
    return this.key !== undefined;
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(PREFIX);
  }

  /** The value as stored: sealed when a key is configured, else unchanged. */
  seal(value: string, row: string): string {
    if (!this.key) return value;
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce).setAAD(Buffer.from(row));
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The stored value's plaintext; a sealed one needs the key it was sealed with. */
  open(stored: string, row: string): string {
    if (!Sealer.isSealed(stored)) return stored;
    if (!this.key) throw new SealError(`${row} is sealed: set MASTER_KEY to the key this database was set up with`);
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, NONCE)).setAAD(Buffer.from(row));
      decipher.setAuthTag(raw.subarray(raw.length - TAG));
      return Buffer.concat([decipher.update(raw.subarray(NONCE, raw.length - TAG)), decipher.final()]).toString('utf8');
    } catch {
      throw new SealError(`MASTER_KEY does not open ${row}: it is not the key this database was sealed with`);
    }
  }
}
