// Pruning (src/db/retention.ts): rows a week past their expiry go, everything alive stays and
// keeps working over HTTP, and within the week an expired credential is still refused as expired
// and a replayed spent refresh token still revokes its family.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledQuery, createQueryId, sql, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { prune, type PruneCounts } from '../../src/db/retention.js';
import { basic, codeFor, developer, form, redeem, tokenRequest, type OAuthClientReg } from '../oauth/helpers.js';
import { createUser, domainToken, seedDomain } from '../kandy/setup.js';

const DAY = 24 * 3600_000;
const none: PruneCounts = { sessions: 0, oauth_codes: 0, oauth_revoked_access_tokens: 0, oauth_refresh_links: 0, oauth_families: 0, domain_tokens: 0, webhook_deliveries: 0, platform_event_deliveries: 0, idempotency_keys: 0, email_links: 0, mail_messages: 0, federated_logins: 0, audit_events: 0 };

describe('pruning expired rows', () => {
  let t: TestApp;
  let web: OAuthClientReg;
  let alice: PortalClient;

  before(async () => {
    t = await createTestApp();
    t.clock.freeze();
    web = await developer(t.app).then((d) => d.register('Web'));
    alice = new PortalClient(t.app);
    await alice.signup('alice@example.com', 'Alice');
  });
  after(async () => { await t.close(); });

  const refresh = (token: string) => tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: token }, { authorization: basic(web.id, web.secret) });
  const rows = async () => ({
    links: (await t.db.kysely.selectFrom('oauth_refresh_links').select('id').orderBy('id').execute()).map((r) => r.id),
    families: (await t.db.kysely.selectFrom('oauth_families').select('id').orderBy('id').execute()).map((r) => r.id),
  });
  const gidOf = (accessToken: string): string => JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).gid as string;

  test('nothing alive is pruned; spent refresh links, dead families, old codes, sessions and tokens are', async () => {
    // A family refreshed every six days: its links expire a week after each rotation.
    let c = await codeFor(alice, web.id);
    const tokens = [(await redeem(t.app, web, c.code, c.verifier)).json() as { access_token: string; refresh_token: string }];
    const live = gidOf(tokens[0]!.access_token);
    tokens.push((await refresh(tokens[0]!.refresh_token)).json());
    // A second family, never refreshed, and an access token revoked at once.
    c = await codeFor(alice, web.id);
    const dead = (await redeem(t.app, web, c.code, c.verifier)).json() as { access_token: string; refresh_token: string };
    const revoke = await t.app.inject({ method: 'POST', url: '/oauth/revoke', payload: form({ token: dead.access_token }), headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(web.id, web.secret) } });
    assert.equal(revoke.statusCode, 200);
    // A Kandy domain access token (24 hours).
    const d = await seedDomain(t);
    const kandyToken = await domainToken(t.app, d);
    assert.deepEqual(await prune(t.db.kysely, t.clock.now()), none, 'nothing has expired yet');

    for (let day = 6; day <= 24; day += 6) {
      t.clock.advance(6 * DAY);
      const res = await refresh(tokens.at(-1)!.refresh_token);
      assert.equal(res.statusCode, 200, res.body);
      tokens.push(res.json());
      if (day === 6) {
        // The Kandy token expired on day 1: within its week of grace it is refused as expired.
        const expired = await createUser(t.app, kandyToken, { user_id: 'eve', user_country_code: '+1' });
        assert.deepEqual([expired.statusCode, expired.json()], [401, { result: null, status: 6, message: 'key: this access token has expired; request a new one' }]);
      }
    }
    // Day 24. Links 1…6 of the live family expire on days 7, 7, 13, 19, 25, 31; with a week's grace
    // those expiring before day 17 go. The dead family's only link, its last, expired on day 7:
    // the family goes with it.
    assert.equal((await rows()).links.length, 7);
    // Alice logs in again today: that session is alive. The three made on day 0 (hers, the
    // developer's, the Kandy developer's) expired on day 14; both codes after a minute; the
    // revoked access token's entry after an hour; the Kandy token on day 1.
    const again = new PortalClient(t.app);
    await again.get('/login');
    assert.equal((await again.post('/login', { email: 'alice@example.com', password: 'correct horse battery' })).statusCode, 303);

    const counts = await prune(t.db.kysely, t.clock.now());
    // Each sign-up e-mailed a confirmation link (the development outbox): both gone a week after the link expired.
    assert.deepEqual(counts, { ...none, sessions: 3, oauth_codes: 2, oauth_revoked_access_tokens: 1, oauth_refresh_links: 4, oauth_families: 1, domain_tokens: 1, email_links: 3, mail_messages: 3 });
    assert.deepEqual(await rows(), { families: [live], links: tokens.slice(3).map((x) => /^tor_(.{36})_/.exec(x.refresh_token)![1]!) });
    assert.deepEqual(await prune(t.db.kysely, t.clock.now()), none, 'a second run finds nothing');
    assert.equal((await again.get('/dashboard')).statusCode, 200, 'the live session stays');

    // The pruned tokens are now unknown ones; the Kandy token too.
    const gone = await refresh(tokens[0]!.refresh_token);
    assert.deepEqual([gone.statusCode, gone.json()], [400, { error: 'invalid_grant', error_description: 'the refresh token is not valid' }]);
    const unknown = await createUser(t.app, kandyToken, { user_id: 'eve', user_country_code: '+1' });
    assert.deepEqual([unknown.statusCode, unknown.json()], [401, { result: null, status: 5, message: 'key: is not a valid domain access token' }]);

    // The live family keeps working, and a spent link inside the grace week still reveals reuse.
    const next = await refresh(tokens.at(-1)!.refresh_token);
    assert.equal(next.statusCode, 200, next.body);
    const replay = await refresh(tokens[3]!.refresh_token);
    assert.deepEqual([replay.statusCode, replay.json()], [400, { error: 'invalid_grant', error_description: 'the refresh token has already been used; every token of this grant is revoked' }]);
    const revoked = await refresh(next.json().refresh_token);
    assert.deepEqual([revoked.statusCode, revoked.json()], [400, { error: 'invalid_grant', error_description: 'the refresh token has been revoked' }]);
  });

  test('the server prunes on its own timer (PRUNE_INTERVAL_SECONDS), and 0 turns it off', async () => {
    const timed = await createTestApp({ PRUNE_INTERVAL_SECONDS: '1' });
    const off = await createTestApp({ PRUNE_INTERVAL_SECONDS: '0' });
    try {
      for (const app of [timed, off]) {
        const p = new PortalClient(app.app);
        await p.signup('bob@example.com', 'Bob');
        app.clock.advance(30 * DAY);
      }
      const sessions = (app: TestApp) => app.db.kysely.selectFrom('sessions').select('id_hash').execute().then((r) => r.length);
      // The first run comes 0.5–1.5 s after start.
      const deadline = Date.now() + 5000;
      while ((await sessions(timed)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await sessions(timed), 0);
      assert.equal(await sessions(off), 1);
    } finally {
      await timed.close();
      await off.close();
    }
  });

  test('every statement of a prune finds its rows through an index, so a run reads what it deletes and not whole tables', async () => {
    // What prune() sends, as sent (after the database's own plugins), then each one's plan.
    const nodes: RootOperationNode[] = [];
    const capture: KyselyPlugin = {
      transformQuery: (args) => { nodes.push(args.node); return args.node; },
      transformResult: async (args) => args.result,
    };
    await prune(t.db.kysely.withPlugin(capture), t.clock.now());
    const statements = nodes.map((node) => t.db.kysely.getExecutor().compileQuery(node, createQueryId()));
    assert.equal(statements.length, Object.keys(none).length, 'one statement a table, none with rows to delete');

    const planOf = async (q: CompiledQuery): Promise<string[]> => {
      if (t.db.dialect === 'sqlite') {
        const rows = await t.db.kysely.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${q.sql}`, [...q.parameters]));
        return rows.rows.map((r) => r.detail);
      }
      // The tables are nearly empty, where PostgreSQL rightly prefers reading them whole: asked
      // not to, it still does where no index serves.
      return t.db.kysely.transaction().execute(async (trx) => {
        await sql`set local enable_seqscan = off`.execute(trx);
        const rows = await trx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain (costs off) ${q.sql}`, [...q.parameters]));
        return rows.rows.map((r) => r['QUERY PLAN']);
      });
    };
    for (const q of statements) {
      const plan = await planOf(q);
      // SQLite says SCAN for a whole table or a whole index, PostgreSQL Seq Scan for a whole table.
      assert.equal(plan.filter((line) => /^\s*(->\s*)?(SCAN |Seq Scan)/.test(line)).length, 0, `${q.sql}\n${plan.join('\n')}`);
      // Each time-bounded read seeks a range (its time, or a key ordered by time), not every row
      // of one status (SQLite names the constraints it seeks by).
      if (t.db.dialect === 'sqlite' && /"(expires_at|created_at)" </.test(q.sql)) {
        assert.ok(plan.some((line) => /^SEARCH .*<\?\)$/.test(line)), `${q.sql}\n${plan.join('\n')}`);
      }
    }
  });

  test('PRUNE_INTERVAL_SECONDS must be a whole number of seconds', async () => {
    await assert.rejects(createTestApp({ PRUNE_INTERVAL_SECONDS: '1h' }), { name: 'ConfigError', message: 'PRUNE_INTERVAL_SECONDS must be a whole number of seconds (0-2000000), got "1h"' });
  });
});
