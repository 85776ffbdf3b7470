// In-process caches for the two hot paths: the token service's grant lookup by refresh-token hash
// and the platform API's access-token check (signature, then grant + connector + group).
//
// Why they stay correct:
// - Rows are dropped — all of them — the moment any statement writes grants, connectors, groups
//   or organizations (the WriteWatch plugin on the database announces it before and after the
//   statement). Revoking a grant, replacing its refresh token, rotating a connector's secret,
//   deleting a connector or group (cascades) and a token-service rotation are all such writes, so
//   the next request reads the database again. Writes are rare next to reads, and a global clear
//   cannot miss a key.
// - A read that overlapped a write is not cached: each read notes the epoch it started in, and
//   any announced write moves the epoch.
// - Other processes' writes are not seen, so rows also expire after ROW_TTL_MS: with several
//   instances (or two processes on one SQLite file) a revocation elsewhere takes effect here
//   within that time. docs/performance.md describes how to make that immediate (Redis pub/sub).
// - Verified access-token signatures never change, so they are kept until the token expires
//   (expiry is still checked on every use); revocation is the grant row's job, as without a cache.
// Without a WriteWatch (a database not opened by openDatabase) there is no cache at all.
import type { Kysely } from 'kysely';
import type { JWTPayload } from 'jose';
import { writeWatchOf, type Written } from '../db/write-watch.js';

export const ROW_TTL_MS = 5_000;
const MAX_ROWS = 50_000;
const MAX_TOKENS = 20_000;
const WATCHED = ['grants', 'connectors', 'groups', 'organizations'];

interface Entry<T> { value: T; at: number }

/** A bounded map whose entries expire; when full, the oldest entry goes (Map keeps insertion order). */
class RowCache<T> {
  private map = new Map<string, Entry<T>>();
  constructor(private readonly max: number, private readonly ttlMs: number) {}

  get(key: string, now: number): T | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (now - e.at > this.ttlMs) {
      this.map.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: T, now: number): void {
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, { value, at: now });
  }

  clear(): void {
    this.map = new Map();
  }
}

export class AuthCache {
  private epoch = 0;
  readonly rows = new RowCache<unknown>(MAX_ROWS, ROW_TTL_MS);
  private readonly tokens = new Map<string, JWTPayload>();

  onWrite(written: Written): void {
    if (written !== 'all' && !WATCHED.some((t) => written.has(t))) return;
    this.epoch++;
    this.rows.clear();
  }

  /** Call before reading the database; pass the answer to put(). */
  begin(): number {
    return this.epoch;
  }

  get<T>(key: string): T | undefined {
    return this.rows.get(key, performance.now()) as T | undefined;
  }

  /** Caches a row read since begin(), unless a watched write happened meanwhile. */
  put<T>(key: string, value: T, epoch: number): void {
    if (epoch === this.epoch) this.rows.set(key, value, performance.now());
  }

  /** A payload whose signature and claims were verified earlier, if the token has not expired since. */
  verifiedToken(token: string, nowMs: number): JWTPayload | 'expired' | undefined {
    const p = this.tokens.get(token);
    if (!p) return undefined;
    // The same test as jose's: expired when exp <= now, in whole seconds.
    if (typeof p.exp === 'number' && p.exp <= Math.floor(nowMs / 1000)) {
      this.tokens.delete(token);
      return 'expired';
    }
    return p;
  }

  rememberToken(token: string, payload: JWTPayload): void {
    if (this.tokens.size >= MAX_TOKENS) this.tokens.delete(this.tokens.keys().next().value!);
    this.tokens.set(token, payload);
  }
}

const caches = new WeakMap<Kysely<never>, AuthCache>();

/** The cache for this database (one per app), or undefined when writes to it cannot be watched. */
export function authCache<DB>(db: Kysely<DB>): AuthCache | undefined {
  const key = db as unknown as Kysely<never>;
  let cache = caches.get(key);
  if (!cache) {
    const watch = writeWatchOf(db);
    if (!watch) return undefined;
    const created = new AuthCache();
    watch.subscribe((w) => created.onWrite(w));
    caches.set(key, created);
    cache = created;
  }
  return cache;
}
