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
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
