// Asymmetric signing keys for every JWT Tessera issues. The first start generates an ES256 key
// and stores it; `tessera keys rotate` adds a new one. The newest key signs; older keys stay in
// the JWKS until every token they signed has expired (publish_until), so verifiers never see a
// token whose key has vanished.
import { recordAudit } from '../audit/audit-log.js';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.js';
import { uuidv7 } from '../lib/ids.js';
import type { Database } from '../db/schema.js';
import type { ChangeFeed } from '../db/change-feed.js';
import { prepared } from '../db/prepared.js';
import { Sealer } from './sealed.js';

export const SIGNING_ALG = 'ES256';

// Changes whenever a key is added or retired: enough to tell whether a reload is needed.
const keysFingerprint = prepared()((db) => db.selectFrom('signing_keys')
  .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('created_at').as('newest'), eb.fn.count<number>('retired_at').as('retired')]));

/** A private key's row, bound into its sealed value. */
export const signingKeyRow = (kid: string): string => `signing_keys:${kid}`;

/** The longest lifetime of any token Tessera signs: retired keys stay published this long. */
export const MAX_SIGNED_TOKEN_LIFETIME_MS = 366 * 24 * 3600 * 1000;

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export class SigningKeys {
  private current: SigningKey | undefined;
  private byKid = new Map<string, SigningKey>();
  private jwks: { keys: JWK[] } = { keys: [] };
  private loadedAt = 0;
  private loadedFingerprint = '';
  private suspect = false;
  private reloading: Promise<void> | undefined;

  private readonly sealer: Sealer;
  private readonly changes: ChangeFeed | undefined;
  private readonly reloadEveryMs: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    opts: {
      /** Seals private keys at rest under MASTER_KEY (sealed.ts); without it they are stored as they are. */
      sealer?: Sealer;
      /**
       * Tells this instance at once when another one (or `tessera keys rotate`) changes the keys;
       * without it, another instance's rotation goes unnoticed for up to reloadEveryMs.
       */
      changes?: ChangeFeed;
      reloadEveryMs?: number;
    } = {},
  ) {
    this.sealer = opts.sealer ?? new Sealer(undefined);
    this.changes = opts.changes;
    this.reloadEveryMs = opts.reloadEveryMs ?? 60_000;
    this.changes?.subscribe((w) => {
      if (w === 'all') this.suspect = true;
      else if (w.has('signing_keys')) this.loadedAt = 0;
    });
  }

  /**
   * Reloads if the keys may have changed. "Something changed" without saying what (another
   * process wrote to the SQLite file, or the PostgreSQL listener reconnected) costs one small
   * query that tells whether the keys did, rather than a reload per request of a busy pair of
   * processes.
   */
  private async refresh(): Promise<void> {
    this.changes?.sync();
    if (this.clock.now() - this.loadedAt > this.reloadEveryMs) return this.reload();
    if (!this.suspect) return;
    this.suspect = false;
    if (await this.fingerprint() !== this.loadedFingerprint) await this.reload();
  }

  private async fingerprint(): Promise<string> {
    const r = await keysFingerprint.first(this.db, {});
    return `${r?.n ?? 0}/${r?.newest ?? 0}/${r?.retired ?? 0}`;
  }

  /** Loads the keys, generating the first one on a fresh database. */
  async init(): Promise<void> {
    if (this.sealer.enabled) await this.sealStoredKeys();
    await this.load();
    if (!this.current) {
      await this.rotate();
    }
  }

  async signingKey(): Promise<SigningKey> {
    await this.refresh();
    if (!this.current) throw new Error('signing keys not initialised');
    return this.current;
  }

  /** Finds a verification key; an unknown kid triggers one reload (another instance may have rotated). */
  async verificationKey(kid: string | undefined): Promise<SigningKey | undefined> {
    if (!kid) return undefined;
    const key = this.byKid.get(kid);
    if (key) return key;
    if (this.clock.now() - this.loadedAt > 1000) await this.reload();
    return this.byKid.get(kid);
  }

  /** The JWKS to publish: every key that may still have tokens out, reloaded when stale. */
  async publishedJwks(): Promise<{ keys: JWK[] }> {
    await this.refresh();
    return this.jwks;
  }

  /** Creates a new signing key; the previous one is retired but stays published. */
  async rotate(): Promise<string> {
    const now = this.clock.now();
    const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const kid = uuidv7(now);
    const privateJwk = await exportJWK(privateKey);
    const publicJwk = await exportJWK(publicKey);
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('signing_keys')
        .set({ retired_at: now, publish_until: now + MAX_SIGNED_TOKEN_LIFETIME_MS })
        .where('retired_at', 'is', null)
        .execute();
      await trx.insertInto('signing_keys').values({
        kid,
        alg: SIGNING_ALG,
        private_jwk: this.sealer.seal(JSON.stringify(privateJwk), signingKeyRow(kid)),
        public_jwk: JSON.stringify({ ...publicJwk, kid, alg: SIGNING_ALG, use: 'sig' }),
        created_at: now,
        retired_at: null,
        publish_until: null,
      }).execute();
      await recordAudit(trx, {
        actor: { type: 'system', id: 'tessera' }, action: 'signing_key.rotated', target: { type: 'signing_key', id: kid },
        summary: 'a new ES256 key signs from now on; the previous one stays published until its tokens expire', at: now,
      });
    });
    await this.load();
    return kid;
  }

  /** Seals private keys stored before MASTER_KEY was configured (compare-and-set per key). */
  private async sealStoredKeys(): Promise<void> {
    const rows = await this.db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
    for (const row of rows) {
      if (Sealer.isSealed(row.private_jwk)) continue;
      await this.db.updateTable('signing_keys').set({ private_jwk: this.sealer.seal(row.private_jwk, signingKeyRow(row.kid)) })
        .where('kid', '=', row.kid).where('private_jwk', '=', row.private_jwk).execute();
    }
  }

  private reload(): Promise<void> {
    this.reloading ??= this.load().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async load(): Promise<void> {
    const now = this.clock.now();
    const fingerprint = await this.fingerprint();
    const rows = await this.db.selectFrom('signing_keys').selectAll()
      .where((eb) => eb.or([eb('publish_until', 'is', null), eb('publish_until', '>', now)]))
      .orderBy('created_at', 'desc')
      .execute();
    const byKid = new Map<string, SigningKey>();
    let current: SigningKey | undefined;
    for (const row of rows) {
      // A key's material never changes: keys loaded before are reused, only new ones imported.
      const key: SigningKey = this.byKid.get(row.kid) ?? await (async () => {
        const publicJwk = JSON.parse(row.public_jwk) as JWK;
        return {
          kid: row.kid,
          alg: row.alg,
          privateKey: (await importJWK(JSON.parse(this.sealer.open(row.private_jwk, signingKeyRow(row.kid))) as JWK, row.alg)) as CryptoKey,
          publicKey: (await importJWK(publicJwk, row.alg)) as CryptoKey,
          publicJwk,
        };
      })();
      byKid.set(row.kid, key);
      if (!current && row.retired_at === null) current = key;
    }
    this.byKid = byKid;
    this.current = current;
    this.jwks = { keys: [...byKid.values()].map((k) => k.publicJwk) };
    this.loadedAt = now;
    this.loadedFingerprint = fingerprint;
  }
}
