// One Kysely instance over either embedded SQLite (better-sqlite3, WAL) or PostgreSQL (pg).
// The rest of the code is written against Kysely<Database> and does not care which.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.js';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: DialectName;
  /** PostgreSQL schema in use, when one was configured. */
  readonly schema?: string;
  close(): Promise<void>;
}

// BIGINT (int8) and NUMERIC come back from pg as strings by default; our BIGINTs are epoch
// milliseconds and counters, well inside Number's exact range.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'databaseSchema'>): Promise<Db> {
  if (config.databaseUrl.startsWith('sqlite:')) {
    const file = config.databaseUrl.slice('sqlite:'.length) || ':memory:';
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const database = new SQLite(file);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
    // Several processes may share one file (the quota test runs two): wait for the write lock.
    database.pragma('busy_timeout = 5000');
    const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
    return { kysely, dialect: 'sqlite', close: () => kysely.destroy() };
  }

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
    max: 10,
    ...(schema ? { options: `-c search_path="${schema}"` } : {}),
  });
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { kysely, dialect: 'postgres', ...(schema ? { schema } : {}), close: () => kysely.destroy() };
}

/** Drops a schema created for a test run (PostgreSQL only). */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
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
