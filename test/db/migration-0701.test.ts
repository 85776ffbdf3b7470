// Migration 0701 on a database that already holds refresh families (SQLite rebuilds both tables;
// PostgreSQL swaps the chain's foreign key for a trigger), then back down: the rows survive both
// ways, the family's cascade holds either way, and only the migrated schema lets a link outlive
// its family.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { dropSchema, openDatabase, type Db } from '../../src/db/database.js';
import { migrations } from '../../src/db/migrations/index.js';
import type { Database, OAuthFamiliesTable } from '../../src/db/schema.js';
import { onPostgres } from '../helpers/app.js';

/** The schema of 0701's time: the chain, and families without 0800's expires_at. */
type Schema0701 = Omit<Database, 'oauth_families'> & {
  oauth_families: Omit<OAuthFamiliesTable, 'expires_at'>;
  oauth_refresh_chain: { family_id: string; seq: number; token_hash: string; created_at: number; expires_at: number };
};

const provider: MigrationProvider = { getMigrations: async (): Promise<Record<string, Migration>> => migrations };

describe('migration 0701: a family\'s links without a foreign key', () => {
  const schema = onPostgres() ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const databaseUrl = onPostgres() ? process.env.DATABASE_URL! : 'sqlite::memory:';
  let db: Db;
  let k: Kysely<Schema0701>;
  let migrator: Migrator;

  before(async () => {
    db = await openDatabase({ databaseUrl, databaseSchema: schema });
    k = db.kysely as unknown as Kysely<Schema0701>;
    migrator = new Migrator({ db: k, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
    assert.equal((await migrator.migrateTo('0700_sqlite_change_versions')).error, undefined);
    await k.insertInto('users').values({ id: 'u1', email: 'a@example.com', name: 'A', password_hash: 'x', created_at: 1 }).execute();
    await k.insertInto('organizations').values({ id: 'o1', name: 'O', created_by: 'u1', created_at: 1 }).execute();
    for (const c of ['c1', 'c2']) {
      // The columns with defaults are left to them: the row is written to the schema of 0700.
      const connector = { id: c, org_id: 'o1', name: c, description: '', permissions: '[]', secret_hash: 'x', created_at: 1, updated_at: 1, created_by: 'u1' };
      await k.insertInto('connectors').values(connector as never).execute();
    }
    for (const [id, connector] of [['f1', 'c1'], ['f2', 'c2']] as const) {
      await k.insertInto('oauth_families').values({ id, connector_id: connector, user_id: 'u1', scope: 'openid', auth_time: 1, created_at: 1, revoked_at: null, revoked_reason: null }).execute();
      for (const seq of [1, 2]) await k.insertInto('oauth_refresh_chain').values({ family_id: id, seq, token_hash: `${id}${seq}`, created_at: 1, expires_at: 2 }).execute();
    }
  });
  after(async () => {
    await db.close();
    if (schema) await dropSchema(databaseUrl, schema);
  });

  const links = async () => (await k.selectFrom('oauth_refresh_chain').select(['family_id', 'seq']).orderBy('family_id').orderBy('seq').execute()).map((r) => `${r.family_id}:${r.seq}`);
  const orphan = () => k.insertInto('oauth_refresh_chain').values({ family_id: 'gone', seq: 1, token_hash: 'h', created_at: 1, expires_at: 2 }).execute();
  /** SQLite's write counter for the families (migration 0700). */
  const familyVersion = async () => Number((await sql<{ version: number }>`select version from change_versions where table_name = 'oauth_families'`.execute(k)).rows[0]!.version);

  test('up keeps every row, and a deleted family takes its links', async () => {
    assert.equal((await migrator.migrateTo('0701_refresh_family_unlocked')).error, undefined);
    assert.deepEqual(await links(), ['f1:1', 'f1:2', 'f2:1', 'f2:2']);
    if (!onPostgres()) {
      const ddl = (await sql<{ sql: string }>`select sql from sqlite_master where name = 'oauth_families'`.execute(k)).rows[0]!.sql;
      assert.match(ddl, /without rowid$/i);
      // The rebuilt table's writes are still counted for the other workers' caches.
      const before = await familyVersion();
      await k.updateTable('oauth_families').set({ scope: 'openid email' }).where('id', '=', 'f2').execute();
      assert.equal(await familyVersion(), before + 1);
    }
    await orphan();
    await k.deleteFrom('connectors').where('id', '=', 'c1').execute();
    assert.deepEqual(await links(), ['f2:1', 'f2:2', 'gone:1']);
    await k.deleteFrom('oauth_refresh_chain').where('family_id', '=', 'gone').execute();
  });

  test('down restores the foreign key and its cascade', async () => {
    assert.equal((await migrator.migrateDown()).error, undefined);
    assert.deepEqual(await links(), ['f2:1', 'f2:2']);
    await assert.rejects(orphan(), /foreign key/i);
    await k.deleteFrom('oauth_families').where('id', '=', 'f2').execute();
    assert.deepEqual(await links(), []);
    assert.equal((await migrator.migrateToLatest()).error, undefined);
  });
});
