// The migrator's catalog reads on PostgreSQL (src/db/current-schema-introspector.ts) see the
// current schema alone, and other schemas being dropped meanwhile — as test files drop theirs
// while another migrates — fail none of them. Kysely's own introspector, reading every schema,
// failed 28 of 200 reads under the same drops.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { dropSchema, openDatabase, type Db } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { onPostgres } from '../helpers/app.js';

describe('the migrator\'s catalog reads on PostgreSQL', { skip: !onPostgres() && 'PostgreSQL only' }, () => {
  const url = process.env.DATABASE_URL!;
  const schema = `t_intro_${randomBytes(5).toString('hex')}`;
  let db: Db;
  let admin: pg.Client;

  before(async () => {
    db = await openDatabase({ databaseUrl: url, databaseSchema: schema });
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  after(async () => {
    await db.close();
    await admin.end();
    await dropSchema(url, schema);
  });

  test('list the tables of the current schema only, Kysely\'s own on request, with their columns', async () => {
    await migrateToLatest(db);
    const other = `${schema}_other`;
    await admin.query(`create schema "${other}"; create table "${other}".plans (id int); create table "${other}".elsewhere (id int)`);
    try {
      const tables = await db.kysely.introspection.getTables();
      const ours = (await admin.query<{ name: string }>(`select table_name as name from information_schema.tables where table_schema = $1 and table_name not like 'kysely_%' order by 1`, [schema])).rows.map((r) => r.name);
      assert.deepEqual(tables.map((t) => t.name).sort(), ours);
      assert.ok(tables.every((t) => t.schema === schema));
      assert.deepEqual(tables.find((t) => t.name === 'plans')!.columns.map((c) => [c.name, c.dataType, c.isNullable]), [
        ['id', 'text', false], ['name', 'text', false], ['max_users', 'int4', false], ['created_at', 'int8', false],
      ]);
      const internal = (await db.kysely.introspection.getTables({ withInternalKyselyTables: true })).map((t) => t.name);
      assert.deepEqual(internal.filter((n) => n.startsWith('kysely_')).sort(), ['kysely_migration', 'kysely_migration_lock']);
    } finally {
      await admin.query(`drop schema "${other}" cascade`);
    }
  });

  test('no read fails while other schemas are dropped', async () => {
    let reads = 0;
    for (let round = 0; round < 5; round++) {
      const names = Array.from({ length: 10 }, (_, i) => `${schema}_d${round}_${i}`);
      for (const n of names) await admin.query(`create schema "${n}"; create table "${n}".a (id serial primary key, v text); create table "${n}".b (id int)`);
      let dropping = true;
      const drops = (async () => {
        for (const n of names) await admin.query(`drop schema "${n}" cascade`);
        dropping = false;
      })();
      // What the migrator reads before it migrates, for as long as the drops go on.
      const lookups = (async () => {
        for (; dropping; reads++) await db.kysely.introspection.getTables({ withInternalKyselyTables: true });
      })();
      await Promise.all([drops, lookups]);
    }
    assert.ok(reads >= 5, `${reads} reads`);
    await migrateToLatest(db);
  });
});
