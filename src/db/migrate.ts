// Migrations are ordered modules listed in ./migrations/index.ts (a static list, so the compiled
// build and the TypeScript sources behave the same). Applied at start for the embedded database
// and by `tessera migrate` in production.
import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { Db } from './database.js';
import { migrations } from './migrations/index.js';

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export async function migrateToLatest(db: Db): Promise<string[]> {
  // Kysely looks for its bookkeeping tables across every schema it can see; name ours, or a
  // sibling schema's tables (another test run, another tenant) would be mistaken for them.
  const migrator = new Migrator({ db: db.kysely, provider: new StaticProvider(), ...(db.schema ? { migrationTableSchema: db.schema } : {}) });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    // That search lists the tables and columns of every schema; a sibling schema dropped at that
    // moment (the test suites drop theirs as they finish) makes PostgreSQL answer that a schema
    // (3F000), table (42P01) or column (42703) it was reading does not exist. PostgreSQL runs each
    // migration in a transaction, so a real failure of ours is rolled back and fails again.
    if (attempt < 5 && isSiblingSchemaGone(error, db.schema)) continue;
    throw error instanceof Error ? error : new Error(String(error));
  }
}

function isSiblingSchemaGone(err: unknown, own: string | undefined): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  if (e?.code === '3F000') return own === undefined || !e.message?.includes(`"${own}"`);
  return e?.code === '42P01' || e?.code === '42703';
}
