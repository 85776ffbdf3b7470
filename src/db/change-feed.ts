// Tells in-process caches (read-cache.ts) that tables have changed: this process's writes as they
// happen, through the write watch on its driver, and other processes' writes through the database itself,
// so that a revocation made on one instance is honoured by every instance at once.
//
// - SQLite: `PRAGMA data_version` changes whenever another connection — another process on the
//   same file — has committed. sync() reads it (at most once a millisecond; ≈ 2 µs) before a
//   cache is trusted; when it has moved, it reads the per-table write counters that row triggers
//   keep (migration 0700) and reports the tables whose counter moved, so a sibling worker's
//   refresh-token write (no cache reads that table) leaves this process's caches alone.
// - PostgreSQL: statement triggers on the cached tables (migration 0003_change_feed) NOTIFY
//   `tessera_changes` with "schema.table", or "schema.table:id,id,…" where the triggers name the
//   rows (grants: migration 0702; heard as RowsWritten, so caches keyed by them drop just those).
//   PostgreSQL delivers a notification when its
//   transaction commits, so a listener never hears of a change before it can read it. One
//   dedicated connection LISTENs. While it is down the feed is not reliable and caches answer
//   nothing from memory; once it is back, everything is emptied, since notifications were missed.
import type pg from 'pg';
import { rowsWritten, type WriteWatch, type Written } from './write-watch.js';

export type ChangeListener = (written: Written) => void;

export interface ChangeFeed {
  /**
   * Starts hearing other processes' changes (PostgreSQL: connects and LISTENs; rejects if it
   * cannot). Until then the feed is not reliable there. Short-lived commands never start it.
   */
  start(onError: (err: Error) => void): Promise<void>;
  subscribe(listener: ChangeListener): () => void;
  /** Picks up changes that are pulled rather than pushed (SQLite); call before trusting a cache. */
  sync(): void;
  /** False while other processes' changes could go unnoticed: caches must not serve then. */
  readonly reliable: boolean;
  close(): Promise<void>;
}

/** The channel the PostgreSQL triggers notify; migration 0003 uses the same name. */
export const CHANGE_CHANNEL = 'tessera_changes';

abstract class Feed implements ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();

  constructor(watch: WriteWatch) {
    watch.subscribe((w) => this.emit(w));
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected emit(w: Written): void {
    for (const listener of this.listeners) listener(w);
  }

  abstract start(onError: (err: Error) => void): Promise<void>;
  abstract sync(): void;
  abstract get reliable(): boolean;
  abstract close(): Promise<void>;
}

/** The write counters of the cached tables (migration 0700), or undefined before it has run. */
export type TableCounts = () => ReadonlyMap<string, number> | undefined;

export class SqliteFeed extends Feed {
  private version: number;
  private checkedAt = 0;
  private counts: ReadonlyMap<string, number> | undefined;

  /** dataVersion and tableCounts read the connection the application uses. */
  constructor(watch: WriteWatch, private readonly dataVersion: () => number, private readonly tableCounts: TableCounts) {
    super(watch);
    this.version = dataVersion();
    this.counts = tableCounts();
  }

  async start(): Promise<void> {}

  sync(): void {
    const now = performance.now();
    if (now - this.checkedAt < 1) return;
    this.checkedAt = now;
    const v = this.dataVersion();
    if (v === this.version) return;
    this.version = v;
    // Read after data_version: a commit landing between the two reads is then either in these
    // counts or moves data_version again, so it is never missed.
    const counts = this.tableCounts();
    const before = this.counts;
    this.counts = counts;
    if (!counts || !before) return this.emit('all');
    // This process's own writes move counters too; those tables were emptied when it wrote them,
    // and emptying them once more is cheaper than reading the counters after every own commit.
    const changed = new Set<string>();
    for (const [table, n] of counts) if (before.get(table) !== n) changed.add(table);
    if (changed.size) this.emit(changed);
  }

  get reliable(): boolean {
    return true;
  }

  async close(): Promise<void> {}
}

export class PostgresFeed extends Feed {
  private client: pg.Client | undefined;
  private listening = false;
  private closed = false;
  private retryMs = 250;
  private timer: NodeJS.Timeout | undefined;
  private onError: (err: Error) => void = () => undefined;

  constructor(
    watch: WriteWatch,
    private readonly connect: () => pg.Client,
    /** Only this schema's notifications count (test apps share one database, one schema each). */
    private readonly schema: string | undefined,
  ) {
    super(watch);
  }

  async start(onError: (err: Error) => void): Promise<void> {
    this.onError = onError;
    await this.listen();
  }

  private async listen(): Promise<void> {
    const client = this.connect();
    this.client = client;
    client.on('notification', (msg) => {
      if (msg.channel !== CHANGE_CHANNEL || !msg.payload) return;
      const dot = msg.payload.indexOf('.');
      if (this.schema !== undefined && msg.payload.slice(0, dot) !== this.schema) return;
      const colon = msg.payload.indexOf(':', dot);
      if (colon < 0) return this.emit(new Set([msg.payload.slice(dot + 1)]));
      this.emit(rowsWritten(msg.payload.slice(dot + 1, colon), msg.payload.slice(colon + 1).split(',')));
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (err) {
      this.lost(client, err as Error);
      throw err;
    }
    if (this.client !== client) return;
    this.listening = true;
    this.retryMs = 250;
    // Anything cached while nobody listened may be stale.
    this.emit('all');
  }

  /** The listening connection failed or ended: stop trusting caches and try again, backing off. */
  private lost(client: pg.Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.listening = false;
    this.emit('all');
    client.end().catch(() => undefined);
    if (this.closed) return;
    if (err) this.onError(err);
    this.timer = setTimeout(() => {
      // A failed attempt calls lost() again, which schedules the next one.
      this.listen().catch(() => undefined);
    }, this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 10_000);
  }

  sync(): void {}

  get reliable(): boolean {
    return this.listening;
  }

  /** Test hook: fails the listening connection as a network error would. */
  dropConnection(): void {
    if (this.client) this.lost(this.client, new Error('listening connection dropped'));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    this.listening = false;
    await client?.end().catch(() => undefined);
  }
}
