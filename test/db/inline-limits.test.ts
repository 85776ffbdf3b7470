// SQLite re-prepares statements whose LIMIT is bound (src/db/inline-limits.ts): on SQLite a
// top-level integer LIMIT/OFFSET is written into the SQL; anything else stays a parameter.
// (That the rows stay the same is shown by the message pagination and refresh-token tests.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, onPostgres, type TestApp } from '../helpers/app.js';

let t: TestApp;
before(async () => { t = await createTestApp(); });
after(async () => { await t.close(); });

test('an integer limit and offset are inlined on SQLite and bound on PostgreSQL; values stay bound', () => {
  const q = t.db.kysely.selectFrom('users').select('id').where('email', '=', 'a@example.com').orderBy('id').limit(5).offset(10).compile();
  if (onPostgres()) {
    assert.equal(q.sql, 'select "id" from "users" where "email" = $1 order by "id" limit $2 offset $3');
    assert.deepEqual(q.parameters, ['a@example.com', 5, 10]);
  } else {
    assert.equal(q.sql, 'select "id" from "users" where "email" = ? order by "id" limit 5 offset 10');
    assert.deepEqual(q.parameters, ['a@example.com']);
  }
});

test('a limit that is not a safe integer is left to the driver to bind', () => {
  if (onPostgres()) return;
  const q = t.db.kysely.selectFrom('users').select('id').limit(2 ** 60).compile();
  assert.equal(q.sql, 'select "id" from "users" limit ?');
  assert.deepEqual(q.parameters, [2 ** 60]);
});
