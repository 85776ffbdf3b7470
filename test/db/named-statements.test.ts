// On PostgreSQL the precompiled queries (src/db/prepared.ts) run as named server-side prepared
// statements, parsed and planned once per connection (src/db/named-statements.ts); queries built
// at run time stay unnamed; a statement whose table changed shape meanwhile (a newer instance
// migrated) is still answered.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { dropSchema, openDatabase, type Db } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { prepared } from '../../src/db/prepared.js';
import { onPostgres } from '../helpers/app.js';

describe('prepared queries on PostgreSQL', { skip: !onPostgres() && 'PostgreSQL only' }, () => {
  const url = process.env.DATABASE_URL!;
  const schema = `t_named_${randomBytes(5).toString('hex')}`;
  let db: Db;
  let admin: pg.Client;
  // One connection: the statements this test reads back are that connection's.
  const statements = async () => (await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements order by name`.execute(db.kysely)).rows;

  before(async () => {
    db = await openDatabase({ databaseUrl: url, databaseSchema: schema }, undefined, { poolSize: 1, writers: 1 });
    await migrateToLatest(db);
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`insert into "${schema}".plans (id, name, max_users, created_at) values ('p1', 'Small', 5, 1), ('p2', 'Large', 50, 2)`);
  });
  after(async () => {
    await db.close();
    await admin.end();
    await dropSchema(url, schema);
  });

  test('a precompiled query is a named statement of the connection; a query built at run time is not', async () => {
    const planName = prepared<{ id: string }>()((k, p) => k.selectFrom('plans').select('name').where('id', '=', p.id));
    assert.equal((await planName.first(db.kysely, { id: 'p1' }))?.name, 'Small');
    assert.equal((await planName.first(db.kysely, { id: 'p2' }))?.name, 'Large');
    assert.equal((await db.kysely.selectFrom('plans').select('max_users').where('id', '=', 'p2').executeTakeFirst())?.max_users, 50);
    const named = (await statements()).filter((s) => s.statement.includes('"plans"'));
    assert.deepEqual(named.map((s) => s.statement), ['select "name" from "plans" where "id" = $1']);
    assert.match(named[0]!.name, /^tessera_\d+$/);
    // Another query compiling to the same text is the same statement.
    const again = prepared<{ id: string }>()((k, p) => k.selectFrom('plans').select('name').where('id', '=', p.id));
    assert.equal((await again.first(db.kysely, { id: 'p1' }))?.name, 'Small');
    assert.deepEqual((await statements()).filter((s) => s.statement.includes('"plans"')), named);
  });

  test('a statement whose table gained a column meanwhile is answered, with the column', async () => {
    const plan = prepared<{ id: string }>()((k, p) => k.selectFrom('plans').selectAll().where('id', '=', p.id));
    assert.deepEqual(await plan.first(db.kysely, { id: 'p1' }), { id: 'p1', name: 'Small', max_users: 5, created_at: 1 });
    // Another instance migrates while this one runs.
    await admin.query(`alter table "${schema}".plans add column note text default 'new'`);
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await plan.first(db.kysely, { id: 'p1' }), { id: 'p1', name: 'Small', max_users: 5, created_at: 1, note: 'new' });
    }
    // Other statements of the connection are still named and still answer.
    const planName = prepared<{ id: string }>()((k, p) => k.selectFrom('plans').select('name').where('id', '=', p.id));
    assert.equal((await planName.first(db.kysely, { id: 'p2' }))?.name, 'Large');
  });

  test('an error of a named statement is the query\'s error, and the connection goes on', async () => {
    const insert = prepared<{ id: string; name: string }>()((k, p) => k.insertInto('plans').values({ id: p.id, name: p.name, max_users: 1, created_at: 3 }));
    assert.equal(await insert.run(db.kysely, { id: 'p3', name: 'Three' }), 1);
    await assert.rejects(insert.run(db.kysely, { id: 'p3', name: 'Again' }), (err: { code?: string }) => err.code === '23505');
    assert.equal(await insert.run(db.kysely, { id: 'p4', name: 'Four' }), 1);
    const ours = await db.kysely.selectFrom('plans').select(['id', 'name']).where('id', 'in', ['p3', 'p4']).orderBy('id').execute();
    assert.deepEqual(ours, [{ id: 'p3', name: 'Three' }, { id: 'p4', name: 'Four' }]);
  });
});
