// In-process caches of database reads for the hot paths (the token service's grant lookup, the
// platform API's grant, group and member reads, OAuth clients). Each region names the tables its
// rows are read from; it is emptied, entirely, whenever one of them changes.
//
// Why a cached row is never staler than the database:
// - The change feed (change-feed.ts) reports this process's writes as they happen (before and
//   after each statement) and other processes' writes as soon as they commit (SQLite's
//   data_version, PostgreSQL's LISTEN/NOTIFY). Revoking a grant, replacing a refresh token,
//   rotating a secret, deleting a connector or group (cascades name their parent table) are all
//   such writes, so the next request reads the database again. No write path has to remember to
//   invalidate anything, and a global clear cannot miss a key.
// - A read that overlapped a write is not cached: load() notes the region's epoch before it
//   queries, and any reported change moves the epoch.
// - While the feed cannot vouch for other processes (PostgreSQL listener down), regions answer
//   nothing from memory and store nothing.
// - Rows also expire after ttlMs, and regions are bounded (the oldest entry goes first), so a bug
//   elsewhere cannot pin a stale row forever or grow memory without limit.
// Misses (unknown keys) are never cached: those paths are rare and rate-limited.
import type { ChangeFeed } from './change-feed.js';
import type { Written } from './write-watch.js';

export interface RegionOptions {
  /** Tables whose writes empty the region. */
  tables: readonly string[];
  max: number;
  ttlMs: number;
}

interface Entry<T> { value: T; at: number }

export class ReadCache<T> {
  private map = new Map<string, Entry<T>>();
  private epoch = 0;
  private readonly tables: ReadonlySet<string>;

  constructor(private readonly feed: ChangeFeed, private readonly opts: RegionOptions) {
    this.tables = new Set(opts.tables);
    feed.subscribe((w) => this.onChange(w));
  }

  private onChange(w: Written): void {
    if (w !== 'all' && ![...w].some((t) => this.tables.has(t))) return;
    this.epoch++;
    if (this.map.size) this.map = new Map();
  }

  /** The cached value, if there is a fresh one. */
  get(key: string): T | undefined {
    this.feed.sync();
    const e = this.map.get(key);
    if (!e) return undefined;
    if (!this.feed.reliable || performance.now() - e.at > this.opts.ttlMs) {
      this.map.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** The cached value, or load() it and keep it unless a change to the tables overlapped the read. */
  async load(key: string, read: () => Promise<T | undefined>): Promise<T | undefined> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const epoch = this.epoch;
    const value = await read();
    if (value !== undefined && epoch === this.epoch && this.feed.reliable) {
      if (this.map.size >= this.opts.max) this.map.delete(this.map.keys().next().value!);
      this.map.set(key, { value, at: performance.now() });
    }
    return value;
  }

  get size(): number {
    return this.map.size;
  }
}

/** The regions of one database, created on first use and shared by name. */
export class ReadCaches {
  private readonly regions = new Map<string, { cache: ReadCache<unknown>; tables: readonly string[] }>();

  /** watchable: the tables whose changes other processes hear of (the PostgreSQL triggers). */
  constructor(private readonly feed: ChangeFeed, private readonly watchable: readonly string[]) {}

  region<T>(name: string, opts: RegionOptions): ReadCache<T> {
    let r = this.regions.get(name);
    if (!r) {
      // A region over a table without a change trigger would serve other instances' stale rows.
      const unwatched = opts.tables.filter((t) => !this.watchable.includes(t));
      if (unwatched.length) throw new Error(`cache region ${name} reads ${unwatched.join(', ')}: add them to the change-feed triggers first`);
      r = { cache: new ReadCache<unknown>(this.feed, opts), tables: opts.tables };
      this.regions.set(name, r);
    }
    return r.cache as ReadCache<T>;
  }

  describe(): Array<{ name: string; tables: readonly string[]; size: number }> {
    return [...this.regions].map(([name, r]) => ({ name, tables: r.tables, size: r.cache.size }));
  }
}
