// Group commit (src/db/group-commit.ts): the single-statement writes of one event-loop turn
// commit in one SQLite transaction; each is durable — another connection reads it — when its
// promise resolves; a unique violation fails only its own write; any other failure fails the whole
// group and leaves nothing of it. Against a file database and a second connection, as another
// process would read it. On PostgreSQL grouped inserts are one statement (the last suite).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { openDatabase, type Db } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { prepared } from '../../src/db/prepared.js';
import { groupedInserts, perTurn, runGrouped } from '../../src/db/group-commit.js';
import { isUniqueViolation } from '../../src/deps.js';
import { createTestApp, onPostgres, statementCounts, type TestApp } from '../helpers/app.js';
import { sql } from 'kysely';

const insertPlan = prepared<{ id: string; name: string }>()((db, p) => db.insertInto('plans').values({ id: p.id, name: p.name, max_users: 5, created_at: 1 }));

describe('SQLite group commit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-group-'));
  const file = join(dir, 'tessera.db');
  let db: Db;
  let other: SQLite.Database;
  let statements: string[] = [];

  before(async () => {
    db = await openDatabase({ databaseUrl: `sqlite:${file}`, databaseSchema: undefined }, (_ms, text) => statements.push(text.split(/\s/, 1)[0]!.toLowerCase()));
    await migrateToLatest(db);
    other = new SQLite(file, { readonly: true });
  });
  after(async () => {
    other.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const stored = (prefix: string): string[] =>
    (other.prepare('select id from plans where id like ? order by id').pluck().all(`${prefix}%`) as string[]);

  test('the writes of one turn commit together, each read by another connection once it resolves', async () => {
    statements = [];
    const ids = Array.from({ length: 8 }, (_, i) => `group-a-${i}`);
    // What another connection reads as each write resolves: all eight, even as the first resolves.
    const seen = await Promise.all(ids.map(async (id) => [await runGrouped(db.kysely, insertPlan, { id, name: id }), stored('group-a-')]));
    assert.deepEqual(seen, ids.map(() => [1, ids]));
    assert.deepEqual(statements, ids.map(() => 'insert'));
  });

  test('writes of different turns commit apart', async () => {
    const first = runGrouped(db.kysely, insertPlan, { id: 'group-f-1', name: 'f' }).then(() => stored('group-f-'));
    await new Promise((resolve) => setImmediate(resolve));
    const second = runGrouped(db.kysely, insertPlan, { id: 'group-f-2', name: 'f' }).then(() => stored('group-f-'));
    assert.deepEqual(await Promise.all([first, second]), [['group-f-1'], ['group-f-1', 'group-f-2']]);
  });

  test('a write alone in its turn commits by itself, without a transaction', async () => {
    statements = [];
    assert.equal(await runGrouped(db.kysely, insertPlan, { id: 'group-b', name: 'b' }), 1);
    assert.deepEqual(stored('group-b'), ['group-b']);
    assert.deepEqual(statements, ['insert']);
  });

  test('a unique violation fails only its own write; the others of the group commit', async () => {
    const results = await Promise.allSettled(['group-c-1', 'group-a-0', 'group-c-2'].map((id) => runGrouped(db.kysely, insertPlan, { id, name: id })));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal(((results[1] as PromiseRejectedResult).reason as { code: string }).code, 'SQLITE_CONSTRAINT_PRIMARYKEY');
    assert.deepEqual(stored('group-c'), ['group-c-1', 'group-c-2']);
  });

  test('any other failure fails every write of the group, and none of them is stored', async () => {
    const results = await Promise.allSettled([
      runGrouped(db.kysely, insertPlan, { id: 'group-d-1', name: 'd' }),
      // Refused for a reason other than a constraint: a value SQLite cannot bind.
      runGrouped(db.kysely, insertPlan, { id: 'group-d-x', name: {} as unknown as string }),
      runGrouped(db.kysely, insertPlan, { id: 'group-d-2', name: 'd' }),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
    const reasons = new Set(results.map((r) => ((r as PromiseRejectedResult).reason as Error).message));
    assert.equal(reasons.size, 1);
    assert.deepEqual(stored('group-d'), []);
    // The connection is usable afterwards: the next group commits.
    assert.equal(await runGrouped(db.kysely, insertPlan, { id: 'group-d-3', name: 'd' }), 1);
    assert.deepEqual(stored('group-d'), ['group-d-3']);
  });

  test('perTurn: the asks of one turn reach one flush, in order; inside a transaction an ask is flushed at once, alone', async () => {
    const flushed: string[][] = [];
    const ask = perTurn<string, string>(async (_db, items) => {
      flushed.push(items);
      return items.map((i) => i.toUpperCase());
    });
    assert.deepEqual(await Promise.all(['a', 'b', 'c'].map((i) => ask(db.kysely, i))), ['A', 'B', 'C']);
    assert.deepEqual(flushed, [['a', 'b', 'c']]);
    await db.kysely.transaction().execute(async (trx) => {
      assert.deepEqual(await Promise.all([ask(trx, 'd'), ask(trx, 'e')]), ['D', 'E']);
    });
    assert.deepEqual(flushed, [['a', 'b', 'c'], ['d'], ['e']]);
  });

  test('inside a transaction a write runs at once, as part of it', async () => {
    await assert.rejects(db.kysely.transaction().execute(async (trx) => {
      assert.equal(await runGrouped(trx, insertPlan, { id: 'group-e', name: 'e' }), 1);
      throw new Error('roll back');
    }), /roll back/);
    assert.deepEqual(stored('group-e'), []);
  });
});

// groupedInserts on whichever database the suite runs: on PostgreSQL the rows of one turn are one
// statement, and when it fails, each row alone says which failed.
describe('grouped inserts', () => {
  let t: TestApp;
  type Plan = { id: string; name: string; max_users: number; created_at: number };
  const one = prepared<Plan>()((db, p) => db.insertInto('plans').values({ id: p.id, name: p.name, max_users: p.max_users, created_at: p.created_at }));
  const many = prepared<{ rows: string }>()((db, p) => db.insertInto('plans').columns(['id', 'name', 'max_users', 'created_at'])
    .expression(sql<Plan>`(select id, name, max_users, created_at from json_populate_recordset(null::plans, ${p.rows}::json))`));
  const insert = groupedInserts(one, many);
  const plan = (id: string): Plan => ({ id, name: id, max_users: 5, created_at: 1 });
  const inserts = async () => (await statementCounts(t))('insert');
  const stored = async (prefix: string) => (await t.db.kysely.selectFrom('plans').select('id').where('id', 'like', `${prefix}%`).orderBy('id').execute()).map((r) => r.id);

  before(async () => { t = await createTestApp(); });
  after(async () => { await t.close(); });

  test('the rows of one turn are stored together: one statement on PostgreSQL, one transaction on SQLite', async () => {
    const before = await inserts();
    assert.deepEqual(await Promise.all(['gi-a-1', 'gi-a-2', 'gi-a-3'].map((id) => insert(t.db.kysely, plan(id)))), [1, 1, 1]);
    assert.equal(await inserts() - before, onPostgres() ? 1 : 3);
    assert.deepEqual(await stored('gi-a-'), ['gi-a-1', 'gi-a-2', 'gi-a-3']);
  });

  test('a row refused fails alone: the others are stored', async () => {
    const results = await Promise.allSettled(['gi-b-1', 'gi-a-2', 'gi-b-2'].map((id) => insert(t.db.kysely, plan(id))));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.ok(isUniqueViolation((results[1] as PromiseRejectedResult).reason));
    assert.deepEqual(await stored('gi-b-'), ['gi-b-1', 'gi-b-2']);
  });
});
