// In-process caches of database reads for the hot paths (the token service's grant lookup, the
// platform API's grant, group and member reads, OAuth clients). Each region names the tables its
// rows are read from; it is emptied, entirely, whenever one of them changes — except that a region
// may say which row of a table each entry was read from (`rows`), and then an update of rows by
// key (a refresh token rotated: write-watch.ts, RowsWritten) drops just the entries read from
// them. On PostgreSQL, where each miss is a round trip, emptying a region of 50,000 grants for
// every rotation meant that hardly any exchange was answered from memory.
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
// - Rows also expire, and regions are bounded (the oldest entry goes first), so a bug elsewhere
//   cannot pin a stale row forever or grow memory without limit. Each row expires at a random
//   point between three quarters of ttlMs and ttlMs after it was read: rows read together (a
//   region emptied by one write, a process just started) would otherwise all expire together, be
//   read again together, and so come back as a storm of misses every ttlMs for as long as the load
//   lasts (the benchmark caught one: a slice at a twelfth of the rate of the slices before it). A
//   random quarter spreads them further with every round, and leaves rows read together alone for
//   three quarters of ttlMs (the benchmark's measured run fits in that).
// Misses (unknown keys) are never cached: those paths are rare and rate-limited.
import type { ChangeFeed } from './change-feed.js';
import { isRowsWritten, type Written } from './write-watch.js';

export interface RegionOptions {
  /** Tables whose writes empty the region. */
  tables: readonly string[];
  max: number;
  /** The longest a row is kept (ms; ROW_TTL_MS unless said); each expires at random between three quarters of it and all of it. */
  ttlMs?: number;
}

/**
 * How long a cached row is kept at most, whatever the change feed says: the backstop against a
 * bug elsewhere, not what keeps rows fresh (the feed does, at once). Every hot row is read again
 * once per TTL in every process; at one minute that was ≈ 250 reads a second for the benchmark's
 * 10,000 grants and 5,000 member lists, each member list a join of twenty rows.
 */
export const ROW_TTL_MS = 5 * 60_000;

interface Entry<T> { value: T; expires: number }

/** Milliseconds on a clock that only moves forward. */
export type Now = () => number;

export class ReadCache<T> {
  private map = new Map<string, Entry<T>>();
  private epoch = 0;
  private readonly tables: ReadonlySet<string>;
  /** For each table in `rows`: the key of the row an entry was read from → the entries' keys. */
  private byRow = new Map<string, Map<string, Set<string>>>();

  /**
   * rows: for some of the tables, the key (primary key) of the row of that table a cached value
   * was read from; updates of rows of that table by key then drop only the entries read from them.
   */
  constructor(
    private readonly feed: ChangeFeed,
    private readonly opts: RegionOptions,
    private readonly rows: Readonly<Record<string, (value: T) => string>> = {},
    private readonly now: Now = () => performance.now(),
  ) {
    this.tables = new Set(opts.tables);
    for (const table of Object.keys(rows)) this.byRow.set(table, new Map());
    feed.subscribe((w) => this.onChange(w));
  }

  private onChange(w: Written): void {
    if (w !== 'all' && ![...w].some((t) => this.tables.has(t))) return;
    // A read overlapping any change of its tables is not kept, whatever rows it read.
    this.epoch++;
    const rows = isRowsWritten(w) ? w : undefined;
    const index = rows && this.byRow.get(rows.table);
    if (rows && index) {
      for (const id of rows.ids) for (const key of index.get(id) ?? []) this.remove(key);
      return;
    }
    if (this.map.size) {
      this.map = new Map();
      for (const table of this.byRow.keys()) this.byRow.set(table, new Map());
    }
  }

  private store(key: string, value: T): void {
    this.remove(key);
    this.map.set(key, { value, expires: this.now() + (this.opts.ttlMs ?? ROW_TTL_MS) * (1 - Math.random() / 4) });
    for (const [table, index] of this.byRow) {
      const id = this.rows[table]!(value);
      let keys = index.get(id);
      if (!keys) index.set(id, keys = new Set());
      keys.add(key);
    }
  }

  private remove(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    for (const [table, index] of this.byRow) {
      const id = this.rows[table]!(e.value);
      const keys = index.get(id);
      keys?.delete(key);
      if (keys?.size === 0) index.delete(id);
    }
  }

  /** The cached value, if there is a fresh one. */
  get(key: string): T | undefined {
    this.feed.sync();
    const e = this.map.get(key);
    if (!e) return undefined;
    if (!this.feed.reliable || this.now() > e.expires) {
      this.remove(key);
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
      if (this.map.size >= this.opts.max && !this.map.has(key)) this.remove(this.map.keys().next().value!);
      this.store(key, value);
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
  constructor(private readonly feed: ChangeFeed, private readonly watchable: readonly string[], private readonly now?: Now) {}

  /** rows: see ReadCache; each table in it must be one of opts.tables. */
  region<T>(name: string, opts: RegionOptions, rows: Readonly<Record<string, (value: T) => string>> = {}): ReadCache<T> {
    let r = this.regions.get(name);
    if (!r) {
      // A region over a table without a change trigger would serve other instances' stale rows.
      const unwatched = opts.tables.filter((t) => !this.watchable.includes(t));
      if (unwatched.length) throw new Error(`cache region ${name} reads ${unwatched.join(', ')}: add them to the change-feed triggers first`);
      const unread = Object.keys(rows).filter((t) => !opts.tables.includes(t));
      if (unread.length) throw new Error(`cache region ${name} keys entries by rows of ${unread.join(', ')}, which it does not read`);
      r = { cache: new ReadCache<T>(this.feed, opts, rows, this.now) as ReadCache<unknown>, tables: opts.tables };
      this.regions.set(name, r);
    }
    return r.cache as ReadCache<T>;
  }

  describe(): Array<{ name: string; tables: readonly string[]; size: number }> {
    return [...this.regions].map(([name, r]) => ({ name, tables: r.tables, size: r.cache.size }));
  }
}
