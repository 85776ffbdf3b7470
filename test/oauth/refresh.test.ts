// Refresh token rotation and reuse detection (RFC 9700 §4.14.2): every use hands out a new refresh
// token; presenting a spent one revokes the whole family; of two concurrent uses one wins and the
// family is revoked all the same.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { createTestApp, onPostgres, statementCounts, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { basic, codeFor, developer, introspect, redeem, tokenRequest, type OAuthClientReg } from './helpers.js';

describe('refresh tokens', () => {
  let t: TestApp;
  let web: OAuthClientReg;
  let alice: PortalClient;

  before(async () => {
    t = await createTestApp();
    web = (await developer(t.app).then((d) => d.register('Web')));
    alice = new PortalClient(t.app);
    await alice.signup('alice@example.com', 'Alice');
  });
  after(async () => { await t.close(); });

  const refresh = (token: string) => tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: token }, { authorization: basic(web.id, web.secret) });
  const start = async () => {
    const c = await codeFor(alice, web.id);
    const res = await redeem(t.app, web, c.code, c.verifier);
    assert.equal(res.statusCode, 200);
    return res.json() as { access_token: string; refresh_token: string };
  };
  const reused = { error: 'invalid_grant', error_description: 'the refresh token has already been used; every token of this grant is revoked' };
  const revoked = { error: 'invalid_grant', error_description: 'the refresh token has been revoked' };

  test('every use rotates the refresh token; the new one works, access tokens stay valid', async () => {
    const first = await start();
    const r1 = await refresh(first.refresh_token);
    assert.equal(r1.statusCode, 200);
    assert.equal(r1.headers['cache-control'], 'no-store');
    const second = r1.json();
    assert.notEqual(second.refresh_token, first.refresh_token);
    // tor_<link id: a UUIDv7>_<256-bit secret>; each new link's id sorts after its predecessor's.
    const shape = /^tor_([0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;
    const [firstLink, secondLink] = [shape.exec(first.refresh_token)?.[1], shape.exec(second.refresh_token)?.[1]];
    assert.ok(firstLink && secondLink && firstLink < secondLink, `${first.refresh_token} then ${second.refresh_token}`);
    const r2 = await refresh(second.refresh_token);
    assert.equal(r2.statusCode, 200);
    assert.equal((await introspect(t.app, web, r2.json().access_token)).active, true);
  });

  test('introspection answers for a refresh token until it is spent, and only to its own client', async () => {
    const before = t.clock.now();
    const first = await start();
    const sub = (await introspect(t.app, web, first.access_token)).sub as string;
    const active = await introspect(t.app, web, first.refresh_token);
    // RFC 7662 §2.2: what the token is; it lives seven days (Zaikio's refresh tokens).
    const exp = active.exp as number;
    assert.ok(exp >= Math.floor(before / 1000) + 7 * 24 * 3600 && exp <= Math.floor(t.clock.now() / 1000) + 7 * 24 * 3600, String(exp));
    assert.deepEqual(active, { active: true, scope: 'openid groupinfo.read', client_id: web.id, token_type: 'refresh_token', exp, iss: 'http://tessera.test', sub });
    const other = await developer(t.app, 'introspector@example.com', '+14155550188').then((d) => d.register('Other'));
    assert.deepEqual(await introspect(t.app, other, first.refresh_token), { active: false }, 'another client learns nothing');
    const next = (await refresh(first.refresh_token)).json().refresh_token as string;
    assert.deepEqual(await introspect(t.app, web, first.refresh_token), { active: false }, 'spent');
    assert.equal((await introspect(t.app, web, next)).active, true);
    assert.deepEqual(await introspect(t.app, web, `${next.slice(0, -1)}${next.endsWith('A') ? 'B' : 'A'}`), { active: false }, 'its link with another secret');
  });

  const statements = async () => {
    const count = await statementCounts(t);
    return { with: count('with'), select: count('select'), insert: count('insert'), update: count('update'), other: count('other') };
  };

  test('a refresh reads and appends in one statement on PostgreSQL (a data-modifying WITH), in a read and an insert on SQLite', async () => {
    const expected = onPostgres() ? { with: 1, select: 0, insert: 0, update: 0, other: 0 } : { with: 0, select: 1, insert: 1, update: 0, other: 0 };
    let token = (await refresh((await start()).refresh_token)).json().refresh_token as string; // the client is cached from here on
    // A scrape runs statements of its own (gauges read at scrape time), counted between two
    // scrapes; a timer's statement landing in a window spoils a count, so up to three are made.
    const counts: Array<Record<string, number>> = [];
    for (let attempt = 0; attempt < 3 && !counts.some((c) => isDeepStrictEqual(c, expected)); attempt++) {
      const s0 = await statements();
      const s1 = await statements();
      const res = await refresh(token);
      assert.equal(res.statusCode, 200);
      token = res.json().refresh_token as string;
      const s2 = await statements();
      counts.push(Object.fromEntries(Object.keys(s0).map((k) => {
        const kind = k as keyof typeof s0;
        return [kind, s2[kind] - s1[kind] - (s1[kind] - s0[kind])];
      })));
    }
    assert.deepEqual(counts.at(-1), expected, `counts: ${JSON.stringify(counts)}`);
  });

  test('refreshes arriving together each rotate; on PostgreSQL in one statement (db/group-commit.ts)', async () => {
    const families = await Promise.all(Array.from({ length: 8 }, () => start()));
    const before = await statements();
    const results = await Promise.all(families.map((f) => refresh(f.refresh_token)));
    const after = await statements();
    assert.deepEqual(results.map((r) => r.statusCode), families.map(() => 200));
    // Only refreshes make WITH statements; on SQLite the group is one transaction of eight reads
    // and eight inserts (oauth/queries.ts, spendOnSqlite).
    if (onPostgres()) assert.equal(after.with - before.with, 1);
    else assert.deepEqual([after.with - before.with, after.insert - before.insert], [0, 8]);
    // Each new token is the current one of its family, and each spent one a reuse.
    const next = await Promise.all(results.map((r) => refresh(r.json().refresh_token as string)));
    assert.deepEqual(next.map((r) => r.statusCode), families.map(() => 200));
    assert.deepEqual((await refresh(families[0]!.refresh_token)).json(), reused);
  });

  test('refreshes arriving together are each judged as if alone: another client\'s, a spent and a forged token are refused beside one that rotates', async () => {
    const [mine, theirs, spent, forgedOf] = await Promise.all([start(), start(), start(), start()]);
    const spentNext = (await refresh(spent.refresh_token)).json().refresh_token as string;
    const other = await developer(t.app, 'together@example.com', '+14155550187').then((d) => d.register('Other'));
    // With its client cached, as the other three's is, each request reaches the spend in the same
    // turn, one group (on SQLite always: the rate limiter's peek is in memory; through Redis the
    // answers may come back in two turns).
    assert.equal((await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: 'unknown' }, { authorization: basic(other.id, other.secret) })).statusCode, 400);
    const forged = `tor_${/^tor_(.{36})_/.exec(forgedOf.refresh_token)![1]!}_${'A'.repeat(43)}`;
    const [ok, stolen, again, made] = await Promise.all([
      refresh(mine.refresh_token),
      tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: theirs.refresh_token }, { authorization: basic(other.id, other.secret) }),
      refresh(spent.refresh_token),
      refresh(forged),
    ]);
    const invalid = { error: 'invalid_grant', error_description: 'the refresh token is not valid' };
    assert.deepEqual([ok.statusCode, stolen.statusCode, stolen.json(), again.statusCode, again.json(), made.statusCode, made.json()],
      [200, 400, invalid, 400, reused, 400, invalid]);
    // Only the reuse revoked anything: its family's newest token; the others' tokens still rotate.
    assert.deepEqual((await refresh(spentNext)).json(), revoked);
    for (const token of [ok.json().refresh_token as string, theirs.refresh_token, forgedOf.refresh_token]) assert.equal((await refresh(token)).statusCode, 200);
  });

  test('presenting a spent refresh token revokes the whole family, including the newest tokens', async () => {
    const first = await start();
    const second = (await refresh(first.refresh_token)).json();
    const again = await refresh(first.refresh_token);
    assert.deepEqual([again.statusCode, again.json()], [400, reused]);
    const latest = await refresh(second.refresh_token);
    assert.deepEqual([latest.statusCode, latest.json()], [400, revoked]);
    assert.deepEqual(await introspect(t.app, web, second.access_token), { active: false });
    assert.deepEqual(await introspect(t.app, web, first.access_token), { active: false });
  });

  test('a spent token is recognised however many rotations ago it was spent', async () => {
    const first = await start();
    const second = (await refresh(first.refresh_token)).json();
    const third = (await refresh(second.refresh_token)).json();
    const fourth = (await refresh(third.refresh_token)).json();
    const again = await refresh(first.refresh_token);
    assert.deepEqual([again.statusCode, again.json()], [400, reused]);
    assert.deepEqual((await refresh(fourth.refresh_token)).json(), revoked);
  });

  test('a made-up token naming a real link, or its family in the format of before 0800, is not valid, and revokes nothing', async () => {
    const first = await start();
    const second = (await refresh(first.refresh_token)).json();
    const link = (t: string) => /^tor_(.{36})_/.exec(t)![1]!;
    const family = JSON.parse(Buffer.from(second.access_token.split('.')[1], 'base64url').toString()).gid as string;
    const invalid = { error: 'invalid_grant', error_description: 'the refresh token is not valid' };
    for (const forged of [`tor_${link(second.refresh_token)}_${'A'.repeat(43)}`, `tor_${link(first.refresh_token)}_${'A'.repeat(43)}`,
      `tor_${family}_1_${'A'.repeat(43)}`, `tor_${family}_2_${'A'.repeat(43)}`]) {
      const res = await refresh(forged);
      assert.deepEqual([res.statusCode, res.json()], [400, invalid]);
    }
    // The family is intact: the real current token still rotates.
    assert.equal((await refresh(second.refresh_token)).statusCode, 200);
  });

  test('two concurrent uses of one refresh token: one wins, the other is a reuse, and the family is revoked', async () => {
    const first = await start();
    const results = await Promise.all([refresh(first.refresh_token), refresh(first.refresh_token)]);
    const statuses = results.map((r) => r.statusCode).sort();
    assert.deepEqual(statuses, [200, 400]);
    const winner = results.find((r) => r.statusCode === 200)!.json();
    const loser = results.find((r) => r.statusCode === 400)!.json();
    assert.deepEqual(loser, reused);
    // The winner's tokens belong to the revoked family.
    assert.deepEqual(await introspect(t.app, web, winner.access_token), { active: false });
    const next = await refresh(winner.refresh_token);
    assert.deepEqual([next.statusCode, next.json()], [400, revoked]);
  });

  test('many concurrent uses: still exactly one wins', async () => {
    const first = await start();
    const results = await Promise.all(Array.from({ length: 6 }, () => refresh(first.refresh_token)));
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1);
    assert.equal(results.filter((r) => r.statusCode === 400).length, 5);
  });

  test('a refresh token expires after 7 days', async () => {
    const first = await start();
    t.clock.advance(7 * 24 * 3600_000 + 1);
    const res = await refresh(first.refresh_token);
    assert.deepEqual([res.statusCode, res.json()], [400, { error: 'invalid_grant', error_description: 'the refresh token has expired' }]);
  });
});

describe('refresh re-checks the organisation role behind an Org/ scope', () => {
  let t: TestApp;
  let web: OAuthClientReg;
  let orgId: string;
  let dev: PortalClient;
  const admins: Record<string, { client: PortalClient; id: string }> = {};

  before(async () => {
    t = await createTestApp();
    const d = await developer(t.app);
    ({ dev, orgId } = d);
    web = await d.register('Web');
    for (const name of ['alice', 'bob', 'carol']) {
      const client = new PortalClient(t.app);
      await client.signup(`${name}@example.com`, name);
      assert.equal((await dev.post(`/orgs/${orgId}/members`, { email: `${name}@example.com`, role: 'admin' })).statusCode, 303);
      admins[name] = { client, id: (await t.db.kysely.selectFrom('users').select('id').where('email', '=', `${name}@example.com`).executeTakeFirstOrThrow()).id };
    }
  });
  after(async () => { await t.close(); });

  const refresh = (token: string) => tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: token }, { authorization: basic(web.id, web.secret) });
  const grant = async (who: string, scope: string) => {
    const c = await codeFor(admins[who]!.client, web.id, scope);
    const res = await redeem(t.app, web, c.code, c.verifier);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { access_token: string; refresh_token: string };
  };
  const LOST = { error: 'invalid_grant', error_description: 'the person who granted this refresh token no longer acts for the organisation it targets as an owner or admin (or lacks the two-factor authentication it requires); every token of this grant is revoked' };

  test('an admin demoted to member loses the grant at the next refresh, and the whole family is revoked', async () => {
    const first = await grant('alice', `Org/${orgId}.groupinfo.read`);
    const second = await refresh(first.refresh_token);
    assert.equal(second.statusCode, 200, 'still an admin: rotation works');
    const tokens = second.json();
    await dev.get(`/orgs/${orgId}`);
    assert.equal((await dev.post(`/orgs/${orgId}/members/${admins.alice!.id}/role`, { role: 'member' })).statusCode, 303);
    const res = await refresh(tokens.refresh_token);
    assert.deepEqual([res.statusCode, res.json()], [400, LOST]);
    assert.deepEqual(await introspect(t.app, web, tokens.access_token), { active: false });
    const again = await refresh(tokens.refresh_token);
    assert.deepEqual([again.statusCode, again.json()], [400, { error: 'invalid_grant', error_description: 'the refresh token has been revoked' }]);
    const family = await t.db.kysely.selectFrom('oauth_families').select('revoked_reason').where('user_id', '=', admins.alice!.id).where('scope', '=', `Org/${orgId}.groupinfo.read`).executeTakeFirstOrThrow();
    assert.equal(family.revoked_reason, 'organisation role lost');
  });

  test('a removed admin loses an Org/ grant in the Zaikio spelling; their grant for themselves is untouched', async () => {
    const org = await grant('bob', `openid Org/${orgId}.tessera.groupinfo.r`);
    const own = await grant('bob', 'openid tessera.groupinfo.r');
    await dev.get(`/orgs/${orgId}`);
    assert.equal((await dev.post(`/orgs/${orgId}/members/${admins.bob!.id}/remove`, {})).statusCode, 303);
    const res = await refresh(org.refresh_token);
    assert.deepEqual([res.statusCode, res.json()], [400, LOST]);
    assert.equal((await refresh(own.refresh_token)).statusCode, 200);
  });

  test('an admin who stays an admin, or becomes an owner, keeps refreshing', async () => {
    const first = await grant('carol', `Org/${orgId}.groupinfo.read`);
    await dev.get(`/orgs/${orgId}`);
    assert.equal((await dev.post(`/orgs/${orgId}/members/${admins.carol!.id}/role`, { role: 'owner' })).statusCode, 303);
    const res = await refresh(first.refresh_token);
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().scope, `Org/${orgId}.groupinfo.read`);
  });
});
