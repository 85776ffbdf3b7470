// What the write watch (src/db/write-watch.ts) hears. A statement is a write by its kind, and a
// SELECT whose WITH clause writes (PostgreSQL) writes what that clause names.
// Updates of one row by its key (prepared({ updatesRow }), write-watch.ts declareRowUpdate) are
// heard with their rows, so caches keyed by those rows drop only them; a declaration the statement
// does not bear out is refused, since it would keep stale rows cached. On PostgreSQL, the
// notifications of `grants` name the grants a statement changed (migration 0702). A cache region
// that keys its entries by grant drops just the entries of the grants written (read-cache.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { sql } from 'kysely';
import { prepared } from '../../src/db/prepared.js';
import { CHANGE_CHANNEL } from '../../src/db/change-feed.js';
import { isRowsWritten, writtenBy, type Written } from '../../src/db/write-watch.js';
import { ReadCaches } from '../../src/db/read-cache.js';
import { NOTIFYING_TABLES } from '../../src/db/migrations/0300_change_feed.js';
import { ROW_LIMIT } from '../../src/db/migrations/0702_grant_row_notifications.js';
import { createTestApp, onPostgres, type TestApp } from '../helpers/app.js';
import { seedConnectorFlow } from '../helpers/portal.js';

const heardAs = (w: Written): string => (w === 'all' ? 'all' : isRowsWritten(w) ? `${w.table}:${w.ids.join(',')}` : [...w].sort().join(','));

describe('the tables a statement writes', () => {
  let t: TestApp;
  before(async () => { t = await createTestApp(); });
  after(async () => { await t.close(); });

  test('a read writes nothing; a SELECT with a writing WITH clause writes the tables that clause names, not those it reads', () => {
    const k = t.db.kysely;
    const written = (q: { compile(): { query: Parameters<typeof writtenBy>[0] } }) => {
      const w = writtenBy(q.compile().query);
      return w === undefined || w === 'all' ? w : [...w].sort();
    };
    assert.equal(written(k.selectFrom('grants').select('id')), undefined);
    assert.equal(written(k.with('g', (q) => q.selectFrom('grants').select('id')).selectFrom('g').select('id')), undefined);
    // (A table named inside the writing clause counts, as for any write: more than it writes, harmlessly.)
    assert.deepEqual(written(k.with('gone', (q) => q.deleteFrom('webhooks').where('id', 'in', q.selectFrom('grants').select('id')).returning('id'))
      .selectFrom('gone').innerJoin('connectors', 'connectors.id', 'gone.id').select('gone.id')), ['grants', 'webhooks']);
    assert.deepEqual(written(k.updateTable('grants').set({ generation: 2 })), ['grants']);
  });
});

describe('updates declared as updates of one row by key', () => {
  let t: TestApp;
  let grantId: string;
  before(async () => {
    t = await createTestApp();
    const s = await seedConnectorFlow(t.app);
    grantId = (await t.db.kysely.selectFrom('grants').select('id').where('group_id', '=', s.groupId).executeTakeFirstOrThrow()).id;
    // Only this process's own announcements are listened for here: on PostgreSQL, the feed stops
    // hearing the notifications (tested below), which would arrive at no fixed point in between.
    await t.db.changes.close();
  });
  after(async () => { await t.close(); });

  const declared = { updatesRow: { table: 'grants', key: 'id' } } as const;

  test('are heard with their row, before and after they run; an update not declared is heard by table', async () => {
    const bump = prepared<{ id: string }>(declared)((db, p) => db.updateTable('grants').set({ generation: sql`generation + 1` }).where('id', '=', p.id));
    const bumpAll = prepared<{ group: string }>()((db, p) => db.updateTable('grants').set({ generation: sql`generation + 1` }).where('group_id', '=', p.group));
    const heard: string[] = [];
    const stop = t.db.changes.subscribe((w) => heard.push(heardAs(w)));
    try {
      assert.equal(await bump.run(t.db.kysely, { id: grantId }), 1);
      assert.deepEqual(heard.splice(0), [`grants:${grantId}`, `grants:${grantId}`]);
      assert.equal(await bump.run(t.db.kysely, { id: 'no-such-grant' }), 0);
      assert.deepEqual(heard.splice(0), ['grants:no-such-grant', 'grants:no-such-grant']);
      // By table, and with the tables an update of grants may reach by foreign key.
      await bumpAll.run(t.db.kysely, { group: 'any' });
      assert.deepEqual(heard.splice(0), ['grants,webhook_deliveries,webhooks', 'grants,webhook_deliveries,webhooks']);
    } finally {
      stop();
    }
  });

  test('are refused where the statement does not bear the declaration out', async () => {
    const cases = [
      ['it is not an UPDATE', prepared<{ id: string }>(declared)((db, p) => db.deleteFrom('grants').where('id', '=', p.id))],
      ['it sets id', prepared<{ id: string }>(declared)((db, p) => db.updateTable('grants').set({ id: 'x' }).where('id', '=', p.id))],
      ['its WHERE does not require id = the parameter', prepared<{ id: string }>(declared)((db, p) => db.updateTable('grants').set({ generation: 2 }).where('group_id', '=', p.id))],
      ['its WHERE does not require id = the parameter', prepared<{ id: string }>(declared)((db, p) =>
        db.updateTable('grants').set({ generation: 2 }).where((eb) => eb.or([eb('id', '=', p.id), eb('generation', '=', 1)])))],
      ['it names grants, connectors, not grants alone', prepared<{ id: string }>(declared)((db, p) => db.updateTable('grants').set({ generation: 2 })
        .where('id', '=', p.id).where('connector_id', 'in', db.selectFrom('connectors').select('id')))],
    ] as const;
    for (const [problem, statement] of cases) {
      await assert.rejects(statement.run(t.db.kysely, { id: grantId }), { message: `cannot declare a row update of grants: ${problem}` });
    }
    // Nothing ran: the grant's generation is where the first test left it.
    assert.equal((await t.db.kysely.selectFrom('grants').select('generation').where('id', '=', grantId).executeTakeFirstOrThrow()).generation, 2);
  });
});

describe('notifications of grants on PostgreSQL', { skip: !onPostgres() && 'PostgreSQL only: SQLite has data_version and its counters' }, () => {
  let t: TestApp;
  let listener: pg.Client;
  let s: Awaited<ReturnType<typeof seedConnectorFlow>>;
  const payloads: string[] = [];
  let sentinel = 0;

  before(async () => {
    t = await createTestApp();
    s = await seedConnectorFlow(t.app);
    listener = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await listener.connect();
    listener.on('notification', (m) => { if (m.payload?.startsWith(`${t.db.schema}.`)) payloads.push(m.payload.slice(t.db.schema!.length + 1)); });
    await listener.query(`listen ${CHANGE_CHANNEL}`);
  });
  after(async () => {
    await listener?.end();
    await t?.close();
  });

  /** What the statement notified: everything up to a notification sent after it (delivered in commit order). */
  async function notified(statement: () => Promise<unknown>): Promise<string[]> {
    payloads.length = 0;
    await statement();
    const mark = `sentinel-${++sentinel}`;
    await sql`select pg_notify(${CHANGE_CHANNEL}, ${`${t.db.schema}.${mark}`})`.execute(t.db.kysely);
    const deadline = Date.now() + 5000;
    while (!payloads.includes(mark) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(payloads.at(-1), mark);
    return payloads.slice(0, -1);
  }

  test('name the grants a statement changed, up to the limit; the table beyond it; nothing when no row changed', async () => {
    const k = t.db.kysely;
    const grant = await k.selectFrom('grants').select('id').where('group_id', '=', s.groupId).executeTakeFirstOrThrow();
    assert.deepEqual(await notified(() => k.updateTable('grants').set({ generation: 2 }).where('id', '=', grant.id).execute()), [`grants:${grant.id}`]);
    assert.deepEqual(await notified(() => k.updateTable('grants').set({ generation: 2 }).where('id', '=', 'no-such-grant').execute()), []);

    // As many more groups and grants as one notification names, plus one: the insert names the table.
    const n = ROW_LIMIT + 1;
    assert.deepEqual(await notified(() => sql`insert into groups (id, org_id, name, welcome_message, group_type, created_at)
      select 'bulk-' || i, ${s.orgId}, 'Bulk ' || i, '', 'Group', 0 from generate_series(1, ${n}) i`.execute(k)), ['groups']);
    assert.deepEqual(await notified(() => sql`insert into grants (id, connector_id, group_id, granted_by, created_at)
      select 'bulk-' || i, ${s.connector.id}, 'bulk-' || i, 'test', 0 from generate_series(1, ${n}) i`.execute(k)), ['grants']);
    // Exactly the limit: named, each once.
    const named = await notified(() => sql`update grants set generation = 5 where id in (select 'bulk-' || i from generate_series(1, ${ROW_LIMIT}) i)`.execute(k));
    assert.equal(named.length, 1);
    assert.deepEqual(named[0]!.replace(/^grants:/, '').split(',').sort(), Array.from({ length: ROW_LIMIT }, (_, i) => `bulk-${i + 1}`).sort());
    // A delete names what it deleted (and the cascade into webhooks is a statement of its own).
    assert.deepEqual(await notified(() => k.deleteFrom('grants').where('id', '=', 'bulk-1').execute()), ['grants:bulk-1', 'webhooks']);
    // Deleting the groups cascades into their grants, more than the limit again: by table.
    assert.deepEqual(await notified(() => sql`insert into grants (id, connector_id, group_id, granted_by, created_at)
      values ('bulk-again', ${s.connector.id}, 'bulk-1', 'test', 0)`.execute(k)), ['grants:bulk-again']);
    assert.deepEqual(await notified(() => k.deleteFrom('groups').where('id', 'like', 'bulk-%').execute()), ['groups', 'group_members', 'grants', 'webhooks']);
  });
});

describe('a cache region that keys its entries by grant', () => {
  let t: TestApp;
  before(async () => { t = await createTestApp(); });
  after(async () => { await t.close(); });

  test('drops the entries read from an updated grant, and only those, also after evictions; anything else empties it', async () => {
    const region = t.services.deps.caches.region<{ grant: string }>('test:by-grant', { tables: ['grants'], max: 2, ttlMs: 60_000 }, { grants: (v) => v.grant });
    const bump = prepared<{ id: string }>({ updatesRow: { table: 'grants', key: 'id' } })((db, p) => db.updateTable('grants').set({ generation: 2 }).where('id', '=', p.id));
    const cached = (key: string) => region.get(key)?.grant;
    const load = (key: string, grant: string) => region.load(key, async () => ({ grant }));
    await load('a', 'g1');
    await load('b', 'g2');
    await load('c', 'g1'); // the region holds two: 'a' goes
    assert.deepEqual([cached('a'), cached('b'), cached('c')], [undefined, 'g2', 'g1']);
    await bump.run(t.db.kysely, { id: 'g1' });
    assert.deepEqual([cached('b'), cached('c'), region.size], ['g2', undefined, 1]);
    await load('a', 'g1'); // read again after the change: kept
    await bump.run(t.db.kysely, { id: 'g3' });
    assert.deepEqual([cached('a'), cached('b'), region.size], ['g1', 'g2', 2]);
    await bump.run(t.db.kysely, { id: 'g2' });
    assert.deepEqual([cached('a'), cached('b'), region.size], ['g1', undefined, 1]);
    await t.db.kysely.updateTable('grants').set({ generation: 2 }).where('group_id', '=', 'any').execute();
    assert.equal(region.size, 0);
    assert.throws(() => t.services.deps.caches.region('test:unread', { tables: ['groups'], max: 1, ttlMs: 1 }, { grants: () => '' }),
      { message: 'cache region test:unread keys entries by rows of grants, which it does not read' });
  });
});

describe('a cache region\'s rows expire', () => {
  let t: TestApp;
  before(async () => { t = await createTestApp(); });
  after(async () => { await t.close(); });

  test('each at a random point between three quarters of ttlMs and ttlMs after it was read, so rows read together do not expire together', async () => {
    let now = 0;
    const region = new ReadCaches(t.db.changes, NOTIFYING_TABLES, () => now).region<number>('test:expiry', { tables: ['grants'], max: 1000, ttlMs: 1000 });
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    for (const [i, key] of keys.entries()) await region.load(key, async () => i);
    const cached = () => keys.filter((key) => region.get(key) !== undefined).length;
    now = 750;
    assert.equal(cached(), 200);
    // Uniform over (750, 1000]: about half are gone at 875 (the chance of fewer than 40 or more
    // than 160 of 200 is below 10⁻¹⁷).
    now = 875;
    const left = cached();
    assert.ok(left >= 40 && left <= 160, `${left} of 200 rows left at 875 ms`);
    now = 1000.001;
    assert.equal(cached(), 0);
    // Read again, a row is kept for a new span of its own.
    await region.load('k0', async () => 0);
    now = 1750;
    assert.equal(region.get('k0'), 0);
  });
});
