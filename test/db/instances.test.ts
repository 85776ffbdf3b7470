// Several Tessera instances on one database: what one instance changes, every other honours at
// once, although each keeps in-memory caches of grants, groups, member lists and clients. On an
// SQLite file (two connections, as two processes would have) the change reaches the other
// instance through PRAGMA data_version, before its next request; on PostgreSQL through
// LISTEN/NOTIFY triggers, as soon as the notification arrives (the time of a round trip on the
// database connection), which the tests allow for by asking again for up to a second.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createTestApp, onPostgres, type TestApp } from '../helpers/app.js';
import { accessToken, seedConnectorFlow } from '../helpers/portal.js';
import { dropSchema } from '../../src/db/database.js';
import { NOTIFYING_TABLES } from '../../src/db/migrations/0300_change_feed.js';
import { PostgresFeed } from '../../src/db/change-feed.js';
import { SigningKeys } from '../../src/keys/signing-keys.js';

const REVOKED = { error: { code: 'invalid_token', message: 'accessToken: has been revoked', details: { field: 'accessToken' } } };

/** The answer once it has changed: immediately on SQLite; on PostgreSQL after the NOTIFY lands. */
async function once<T>(read: () => Promise<T>, changed: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + (onPostgres() ? 1000 : 0);
  for (;;) {
    const value = await read();
    if (changed(value) || Date.now() >= deadline) return value;
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe(`two instances sharing ${onPostgres() ? 'one PostgreSQL schema' : 'one SQLite file'}`, () => {
  const pg = onPostgres();
  const schema = pg ? `t_inst_${randomBytes(5).toString('hex')}` : undefined;
  const dir = pg ? undefined : mkdtempSync(join(tmpdir(), 'tessera-instances-'));
  const env: Record<string, string> = pg ? { DATABASE_SCHEMA: schema! } : { DATABASE_URL: `sqlite:${join(dir!, "tessera.db")}` };
  let a: TestApp;
  let b: TestApp;
  let s: Awaited<ReturnType<typeof seedConnectorFlow>>;
  let token: string;
  const members = (app: TestApp) => app.app.inject({ method: 'GET', url: `/v1/groups/${s.groupId}/members`, headers: { accessToken: token } });

  before(async () => {
    a = await createTestApp(env);
    b = await createTestApp(env);
    s = await seedConnectorFlow(a.app);
    token = (await accessToken(a.app, s.connector, s.refreshToken)).json().accessToken as string;
  });
  after(async () => {
    await a?.close();
    await b?.close();
    if (schema) await dropSchema(process.env.DATABASE_URL!, schema);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a member added on one instance is listed by the other at once, though it had cached the list', async () => {
    const before = await members(b);
    assert.equal(before.statusCode, 200);
    assert.deepEqual(before.json().members.map((m: { mobileNumber: string }) => m.mobileNumber), ['+14155550123']);
    const add = await a.app.inject({ method: 'PUT', url: `/v1/groups/${s.groupId}/members`, headers: { accessToken: token }, payload: { members: ['+14155550177'] } });
    assert.deepEqual([add.statusCode, add.json()], [200, { result: true, membersAdded: 1 }]);
    const after_ = await once(() => members(b), (r) => r.json().members?.length === 2);
    assert.deepEqual(after_.json().members.map((m: { mobileNumber: string; isProvisioned: boolean }) => [m.mobileNumber, m.isProvisioned]),
      [['+14155550123', true], ['+14155550177', false]]);
  });

  test('the other instance hears which tables changed: a posted message leaves its caches alone, a member added empties its member lists', async () => {
    const heard: string[] = [];
    const stop = b.db.changes.subscribe((w) => heard.push(w === 'all' ? 'all' : [...w].sort().join(',')));
    // SQLite: b looks at data_version before it next trusts a cache (at most once a millisecond).
    const listen = async () => {
      await new Promise((r) => setTimeout(r, 5));
      b.db.changes.sync();
      return heard.length;
    };
    try {
      const post = await a.app.inject({ method: 'POST', url: `/v1/groups/${s.groupId}/messages`, headers: { accessToken: token }, payload: { message: 'no cache reads messages' } });
      assert.equal(post.statusCode, 201);
      // On PostgreSQL, a notification would have arrived by then (the member change below shows the wait suffices).
      await once(listen, (n) => n > 0);
      assert.deepEqual(heard, []);
      const add = await a.app.inject({ method: 'PUT', url: `/v1/groups/${s.groupId}/members`, headers: { accessToken: token }, payload: { members: ['+14155550178'] } });
      assert.equal(add.statusCode, 200);
      await once(listen, (n) => n > 0);
      assert.deepEqual(heard, ['group_members']);
    } finally {
      stop();
    }
  });

  test('a grant revoked on one instance stops its access token on the other at once', async () => {
    assert.equal((await members(b)).statusCode, 200); // cached on b
    const page = await s.person.get(`/groups/${s.groupId}`);
    const grantId = new RegExp(`/groups/${s.groupId}/connectors/([0-9a-f-]{36})/revoke`).exec(page.body)![1]!;
    assert.equal((await s.person.post(`/groups/${s.groupId}/connectors/${grantId}/revoke`, {})).statusCode, 303);
    const res = await once(() => members(b), (r) => r.statusCode === 401);
    assert.deepEqual([res.statusCode, res.json()], [401, REVOKED]);
    const exchange = await accessToken(b.app, s.connector, s.refreshToken);
    assert.deepEqual([exchange.statusCode, exchange.json().error.code], [401, 'invalid_token']);
  });

  test('a refresh token rotated on one instance drops only its own grant from that instance\'s caches; the other drops it too (PostgreSQL: the notification names the grant) or everything (SQLite: another process is heard by table)', async () => {
    const DAY = 24 * 3600 * 1000;
    const one = await seedConnectorFlow(a.app, { email: 'r1@example.com', phone: '+14155550191', orgName: 'Rotates' });
    // Seeded on b, whose clock (and so the person's portal session) does not jump below.
    const two = await seedConnectorFlow(b.app, { email: 'r2@example.com', phone: '+14155550192', orgName: 'Stays' });
    const cached = (app: TestApp) => app.services.deps.caches.describe().find((r) => r.name === 'token-service:grants')!.size;
    for (const app of [a, b]) {
      for (const f of [one, two]) assert.deepEqual([(await accessToken(app.app, f.connector, f.refreshToken)).json().refreshToken], ['']);
    }
    const [onA, onB] = [cached(a), cached(b)];
    assert.ok(onA >= 2 && onB >= 2, `cached: ${onA} on a, ${onB} on b`);

    a.clock.advance(329 * DAY); // past 90% of the refresh token's 365 days: this exchange rotates it
    const rotated = (await accessToken(a.app, one.connector, one.refreshToken)).json().refreshToken as string;
    assert.match(rotated, /^trt_/);
    assert.equal(cached(a), onA - 1);
    // b hears of it: at its next look at data_version (SQLite) or once the NOTIFY lands.
    const heardOnB = await once(async () => {
      b.db.changes.sync();
      return cached(b);
    }, (n) => n < onB);
    assert.equal(heardOnB, pg ? onB - 1 : 0);
    // What b answers now is read afresh: the old token is the previous one, the new one current.
    for (const token of [rotated, one.refreshToken]) {
      const res = await accessToken(b.app, one.connector, token);
      assert.deepEqual([res.statusCode, res.json().refreshToken], [200, '']);
    }
    // And a, which kept grant two's entry, honours its revocation on b at once.
    const page = await two.person.get(`/groups/${two.groupId}`);
    const grantId = new RegExp(`/groups/${two.groupId}/connectors/([0-9a-f-]{36})/revoke`).exec(page.body)![1]!;
    assert.equal((await two.person.post(`/groups/${two.groupId}/connectors/${grantId}/revoke`, {})).statusCode, 303);
    const revoked = await once(() => accessToken(a.app, two.connector, two.refreshToken), (r) => r.statusCode === 401);
    assert.deepEqual([revoked.statusCode, revoked.json().error.code], [401, 'invalid_token']);
  });

  test('a signing key rotated by another process is published by this one at once', async () => {
    const jwks = async () => (await b.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: Array<{ kid: string }> };
    const before = (await jwks()).keys.map((k) => k.kid);
    // `tessera keys rotate` opens its own SigningKeys on instance a's database connection.
    const kid = await new SigningKeys(a.db.kysely, a.clock).rotate();
    const after_ = (await once(jwks, (j) => j.keys.length === before.length + 1)).keys.map((k) => k.kid);
    assert.deepEqual(after_, [kid, ...before]);
    // And tokens b signs from now on use it.
    const fresh = await seedConnectorFlow(b.app, { email: 'k@example.com', phone: '+14155550188', orgName: 'Keys' });
    const jwt = (await accessToken(b.app, fresh.connector, fresh.refreshToken)).json().accessToken as string;
    assert.equal(JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid, kid);
    await jwtVerify(jwt, createLocalJWKSet(await jwks() as never), { issuer: b.config.publicUrl, typ: 'at+jwt' });
  });

  test('while the PostgreSQL listener is down, caches are bypassed (still correct), and it reconnects', { skip: !pg && 'PostgreSQL only' }, async () => {
    const fresh = await seedConnectorFlow(a.app, { email: 'l@example.com', phone: '+14155550189', orgName: 'Listen' });
    const at = (await accessToken(a.app, fresh.connector, fresh.refreshToken)).json().accessToken as string;
    const list = () => b.app.inject({ method: 'GET', url: `/v1/groups/${fresh.groupId}/members`, headers: { accessToken: at } });
    assert.equal((await list()).statusCode, 200);
    const feed = b.db.changes as PostgresFeed;
    feed.dropConnection();
    assert.equal(feed.reliable, false);
    const page = await fresh.person.get(`/groups/${fresh.groupId}`);
    const grantId = new RegExp(`/groups/${fresh.groupId}/connectors/([0-9a-f-]{36})/revoke`).exec(page.body)![1]!;
    await fresh.person.post(`/groups/${fresh.groupId}/connectors/${grantId}/revoke`, {});
    assert.deepEqual([(await list()).statusCode, (await list()).json()], [401, REVOKED]);
    const deadline = Date.now() + 10_000;
    while (!feed.reliable && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(feed.reliable, true);
  });
});

describe('one instance on PostgreSQL, whose pool reads on other connections while a transaction writes', { skip: !onPostgres() && 'PostgreSQL only: SQLite has one connection' }, () => {
  let t: TestApp;
  before(async () => { t = await createTestApp(); });
  after(async () => { await t?.close(); });

  test('a row cached from another connection before the commit is gone the moment the transaction commits', async () => {
    const s = await seedConnectorFlow(t.app);
    const token = (await accessToken(t.app, s.connector, s.refreshToken)).json().accessToken as string;
    const read = () => t.app.inject({ method: 'GET', url: `/v1/groups/${s.groupId}/members`, headers: { accessToken: token } });
    await t.db.kysely.transaction().execute(async (trx) => {
      await trx.updateTable('grants').set({ revoked_at: t.clock.now() }).where('group_id', '=', s.groupId).execute();
      // Another pooled connection still sees the grant, and the answer is cached after the
      // statement's own announcements.
      assert.equal((await read()).statusCode, 200);
      assert.equal((await read()).statusCode, 200);
    });
    // No waiting for the NOTIFY: the commit itself empties what this process cached.
    const res = await read();
    assert.deepEqual([res.statusCode, res.json()], [401, REVOKED]);
  });
});

describe('the cache regions', () => {
  test('name only tables whose changes other instances hear of', async () => {
    const t = await createTestApp();
    try {
      const regions = t.services.deps.caches.describe();
      assert.ok(regions.length >= 6, `regions: ${regions.map((r) => r.name).join(', ')}`);
      for (const r of regions) {
        for (const table of r.tables) assert.ok((NOTIFYING_TABLES as readonly string[]).includes(table), `${r.name} reads ${table}, which has no change trigger`);
      }
    } finally {
      await t.close();
    }
  });
});
