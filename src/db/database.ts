// One Kysely instance over either embedded SQLite (better-sqlite3, WAL) or PostgreSQL (pg).
// The rest of the code is written against Kysely<Database> and does not care which.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import type pg from 'pg';
import { DEFAULT_DATABASE_POOL_SIZE, type Config } from '../config.js';
import type { Database } from './schema.js';
import { InlineLimits } from './inline-limits.js';
import { WriteWatch } from './write-watch.js';
import { takingTurns } from './sqlite-turns.js';
import { introspectingCurrentSchema } from './current-schema-introspector.js';
import { namingStatements } from './named-statements.js';
import { PostgresFeed, SqliteFeed, type ChangeFeed, type TableCounts } from './change-feed.js';

export type DialectName = 'sqlite' | 'postgres';

export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: DialectName;
  /** PostgreSQL schema in use, when one was configured. */
  readonly schema?: string;
  /** Table changes for in-process caches: this process's writes and, once started, other processes'. */
  readonly changes: ChangeFeed;
  /** Reads what the write watch needs of the schema (cascading foreign keys); after migrations. */
  learnSchema(): Promise<void>;
  close(): Promise<void>;
}

/**
 * pg is loaded on first use: the embedded database never needs it, and importing it costs about
 * 15 MB of RSS and 0.1 s of start-up.
 */
async function loadPg(): Promise<typeof pg> {
  const { default: driver } = await import('pg');
  // BIGINT (int8) and NUMERIC come back from pg as strings by default; our BIGINTs are epoch
  // milliseconds and counters, well inside Number's exact range.
  driver.types.setTypeParser(20, (v) => Number(v));
  return driver;
}

/** Told each statement's time (metrics/metrics.ts), by the write watch every statement passes. */
export type QueryObserver = (ms: number, sql: string, failed: boolean) => void;

/** How a worker of `tessera start --workers N` shares the database with the other workers. */
export interface DatabaseShare {
  /** PostgreSQL connections for queries: its share of DATABASE_POOL_SIZE (the change feed holds one more). */
  readonly poolSize: number;
  /** Processes writing the same database, this one included. */
  readonly writers: number;
}

/** A process on its own: the whole DATABASE_POOL_SIZE. SQLite has its one connection. */
export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'databaseSchema'> & Partial<Pick<Config, 'databasePoolSize'>>,
  observe?: QueryObserver,
  share: DatabaseShare = { poolSize: config.databasePoolSize ?? DEFAULT_DATABASE_POOL_SIZE, writers: 1 },
): Promise<Db> {
  if (config.databaseUrl.startsWith('sqlite:')) {
    const file = config.databaseUrl.slice('sqlite:'.length) || ':memory:';
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const database = new SQLite(file);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
    // Several processes may share one file (workers, the quota test's two): they take turns at
    // the write lock in sqlite-turns.ts, between event-loop turns, not in SQLite's sleeping handler.
    database.pragma('busy_timeout = 0');
    // SQLite checkpoints the WAL into the database itself every 1,000 pages, inside the commit
    // that crosses the mark. A worker thread doing it instead measured no faster under load on two
    // cores and cost 9 MB of memory. After a burst, the WAL file is cut back to 64 MB.
    database.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    // Reads through a memory map rather than a read() call per page: on a database of gigabytes
    // whose hot rows no cache can hold (bench --large: 5M group members), the member list's
    // twenty index seeks took 221 µs cold / 75 µs warm by read() and 88 / 50 µs mapped. The
    // mapped pages are the kernel's page cache, shared and reclaimable, though counted in RSS.
    // Not where several workers write the file: after another process's commit SQLite drops its
    // whole map at this one's next read (with its page cache), and every page it then reads is
    // a page fault again. perf, refresh grant on two workers: ≈ 37 µs of kernel time a request
    // (unmap_page_range, filemap faults) against ≈ 15 µs re-reading the pages by read().
    if (share.writers === 1) database.pragma(`mmap_size = ${1024 * 1024 * 1024}`);
    const watch = new WriteWatch(observe);
    const kysely = new Kysely<Database>({
      dialect: watch.dialect(takingTurns(new SqliteDialect({ database: withStatementCache(database) }))),
      plugins: [new InlineLimits()],
    });
    const dataVersion = database.prepare('PRAGMA data_version').pluck();
    return {
      kysely, dialect: 'sqlite',
      changes: new SqliteFeed(watch, () => dataVersion.get() as number, tableCounts(database)),
      learnSchema: () => watch.learnCascades(kysely, 'sqlite'),
      close: () => kysely.destroy(),
    };
  }

  const pg = await loadPg();
  const schema = config.databaseSchema;
  if (schema) {
    // Each test app gets its own schema so suites run in parallel on one database.
    const admin = new pg.Client({ connectionString: config.databaseUrl });
    await admin.connect();
    try {
      await admin.query(`create schema if not exists "${schema}"`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: share.poolSize,
    ...(schema ? { options: `-c search_path="${schema}"` } : {}),
  });
  const watch = new WriteWatch(observe);
  const kysely = new Kysely<Database>({ dialect: watch.dialect(introspectingCurrentSchema(new PostgresDialect({ pool: namingStatements(pool) }))) });
  const changes = new PostgresFeed(watch, () => new pg.Client({ connectionString: config.databaseUrl }), schema);
  return {
    kysely, dialect: 'postgres', ...(schema ? { schema } : {}), changes,
    learnSchema: () => watch.learnCascades(kysely, 'postgres'),
    close: async () => {
      await changes.close();
      await kysely.destroy();
    },
  };
}

/** The cached tables' write counters (migration 0700); undefined until that migration has run. */
function tableCounts(database: SQLite.Database): TableCounts {
  let read: SQLite.Statement<[], [string, number]> | undefined;
  return () => {
    try {
      read ??= database.prepare<[], [string, number]>('select table_name, version from change_versions').raw();
      return new Map(read.all());
    } catch {
      return undefined;
    }
  };
}

/**
 * Kysely's SQLite driver prepares every query afresh, and preparing cost more than running the
 * hot queries (11% of the token service's CPU in the benchmark profile). Statements are reused by
 * SQL text; parameters are bound per call, and Kysely's single-connection mutex means a statement
 * is never used by two queries at once. SQLite re-prepares a cached statement itself after a
 * schema change. Bounded: queries with variable-length IN lists produce many texts.
 */
function withStatementCache(database: SQLite.Database, max = 1000): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => database.close(),
    prepare(text) {
      let stmt = cache.get(text);
      if (!stmt) {
        if (cache.size >= max) cache.clear();
        stmt = database.prepare(text);
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

/** Drops a schema created for a test run (PostgreSQL only). */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const pg = await loadPg();
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await admin.end();
  }
}

export async function ping(db: Db): Promise<void> {
  await sql`select 1`.execute(db.kysely);
}
