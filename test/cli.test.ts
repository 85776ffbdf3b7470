// The tessera command, configuration validation, and the health endpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { loadConfig, poolShare } from '../src/config.js';
import { createTestApp, onPostgres } from './helpers/app.js';
import { createUser, domainToken, seedDomain } from './kandy/setup.js';
import { tesseraCommand } from './helpers/command.js';

const run = promisify(execFile);
const cli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, [...tesseraCommand(), ...args], { env: { ...process.env, ...env } });

test('configuration is validated once, with messages naming the variable', () => {
  assert.throws(() => loadConfig({ PORT: 'eighty' }), /PORT must be a port number \(0-65535\), got "eighty"/);
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL must use postgres: or postgresql:/);
  assert.throws(() => loadConfig({ SMS_PROVIDER: 'pigeon' }), /SMS_PROVIDER must be "outbox" or "http"/);
  assert.throws(() => loadConfig({ SMS_PROVIDER: 'http' }), /SMS_PROVIDER=http needs SMS_HTTP_URL/);
  assert.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL must be one of/);
  assert.throws(() => loadConfig({ PRUNE_INTERVAL_SECONDS: '-5' }), /PRUNE_INTERVAL_SECONDS must be a whole number of seconds \(0-2000000\), got "-5"/);
  for (const bad of ['0', '1', '1001', 'ten', '2.5', '-3']) {
    assert.throws(() => loadConfig({ DATABASE_POOL_SIZE: bad }), new RegExp(`^ConfigError: DATABASE_POOL_SIZE must be a whole number of connections from 2 to 1000, got "${bad}"$`));
  }
  assert.equal(loadConfig({ DATABASE_POOL_SIZE: ' 40 ' }).databasePoolSize, 40);
  // Each worker's share of the pool: equal, rounded up, never under two.
  assert.deepEqual([poolShare(10, 1), poolShare(10, 2), poolShare(10, 3), poolShare(10, 16), poolShare(2, 1), poolShare(64, 16)], [10, 5, 4, 2, 2, 4]);
  const c = loadConfig({});
  assert.deepEqual([c.port, c.host, c.publicUrl, c.databaseUrl, c.databasePoolSize, c.sms.provider, c.pruneIntervalMs], [8080, '0.0.0.0', 'http://localhost:8080', 'sqlite:./data/tessera.db', 10, 'outbox', 3_600_000]);
  assert.ok(Object.isFrozen(c));
});

test('tessera migrate and tessera keys rotate work on a fresh database', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
  try {
    const env = { DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}` };
    const first = await cli(['migrate'], env);
    assert.match(first.stdout, /^applied: 0001_foundation/);
    const second = await cli(['migrate'], env);
    assert.equal(second.stdout.trim(), 'database is up to date');
    const rotated = await cli(['keys', 'rotate'], env);
    assert.match(rotated.stdout, /^new signing key: [0-9a-f-]{36}\n$/);
    // An entry for a revoked access token that expired long ago: tessera prune removes it.
    const sqlite = new Database(join(dir, 'db.sqlite'));
    sqlite.prepare('insert into oauth_revoked_access_tokens (jti, expires_at) values (?, ?)').run('old-jti', 1);
    sqlite.close();
    const pruned = await cli(['prune'], env);
    assert.equal(pruned.stdout, [
      'sessions                     0 deleted', 'oauth_codes                  0 deleted', 'oauth_revoked_access_tokens  1 deleted',
      'oauth_refresh_links          0 deleted', 'oauth_families               0 deleted', 'domain_tokens                0 deleted',
      'webhook_deliveries           0 deleted', 'platform_event_deliveries    0 deleted', 'email_links                  0 deleted',
      'mail_messages                0 deleted', 'federated_logins             0 deleted', 'audit_events                 0 deleted', 'idempotency_keys             0 deleted', ''].join('\n'));
    // With MASTER_KEY the keys are sealed; without it the command stops with the reason.
    const masterKey = 'a'.repeat(64);
    assert.match((await cli(['keys', 'rotate'], { ...env, MASTER_KEY: masterKey })).stdout, /^new signing key: [0-9a-f-]{36}\n$/);
    await assert.rejects(cli(['keys', 'rotate'], env), (err: { code: number; stderr: string }) => err.code === 1
      && /^configuration error: signing_keys:[0-9a-f-]{36} is sealed: set MASTER_KEY to the key this database was set up with\n$/.test(err.stderr));
    await assert.rejects(cli(['frobnicate'], env), (err: { code: number; stderr: string }) => err.code === 2 && /usage: tessera <command>/.test(err.stderr));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('health and readiness', async () => {
  const t = await createTestApp();
  try {
    const h = await t.app.inject({ method: 'GET', url: '/healthz' });
    assert.deepEqual([h.statusCode, h.json()], [200, { status: 'ok' }]);
    const r = await t.app.inject({ method: 'GET', url: '/readyz' });
    assert.deepEqual([r.statusCode, r.json()], [200, { status: 'ready' }]);
    const jwks = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    const keys = jwks.json().keys;
    assert.equal(keys.length, 1);
    assert.deepEqual(Object.keys(keys[0]).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    const missing = await t.app.inject({ method: 'GET', url: '/v1/nope' });
    assert.deepEqual([missing.statusCode, missing.json()], [404, { error: { code: 'not_found', message: 'No route for GET /v1/nope' } }]);
  } finally {
    await t.close();
  }
});

test('tessera plans lists plans, lowers and raises quotas, creates plans and moves accounts; bad arguments write nothing', async () => {
  // The command and a running Tessera share one database: an SQLite file, or this run's PostgreSQL schema.
  const dir = mkdtempSync(join(tmpdir(), 'tessera-plans-'));
  const t = await createTestApp(onPostgres() ? {} : { DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}` });
  const env = { DATABASE_URL: t.config.databaseUrl, ...(t.config.databaseSchema ? { DATABASE_SCHEMA: t.config.databaseSchema } : {}), LOG_LEVEL: 'silent' };
  const refused = (args: string[], stderr: string) => assert.rejects(cli(args, env),
    (err: { code: number; stdout: string; stderr: string }) => {
      assert.deepEqual([err.code, err.stdout, err.stderr], [2, '', stderr]);
      return true;
    });
  const db = t.db.kysely;
  const snapshot = async () => JSON.stringify(await Promise.all([
    db.selectFrom('plans').select(['id', 'name', 'max_users']).orderBy('id').execute(),
    db.selectFrom('api_accounts').select(['id', 'plan_id', 'users_used']).orderBy('id').execute(),
    db.selectFrom('audit_events').select('id').orderBy('id').execute(),
  ]));
  try {
    const d = await seedDomain(t, { email: 'plans@example.com', orgName: 'Plan Org', domainName: 'plans.example.com' });
    const token = await domainToken(t.app, d);
    for (const id of ['u1', 'u2']) assert.equal((await createUser(t.app, token, { user_id: id, user_country_code: '+1' })).statusCode, 200);

    const listed = await cli(['plans', 'list'], env);
    assert.equal(listed.stdout, [
      'PLAN        NAME        USERS PER ACCOUNT  ACCOUNTS  OVER LIMIT',
      'basic       Basic                       5         1           0',
      'team        Team                      100         0           0',
      'enterprise  Enterprise             100000         0           0',
      '',
    ].join('\n'));

    // Lowering the quota below the account's usage deletes nobody; further creates are refused.
    const lowered = await cli(['plans', 'set', 'basic', '--max-users', '1'], env);
    assert.equal(lowered.stdout, 'plan basic (Basic): 1 user per account (was 5)\n'
      + 'note: 1 account on this plan has more users than that; its users are kept, and new users are refused until it is under the limit\n');
    const third = await createUser(t.app, token, { user_id: 'u3', user_country_code: '+1' });
    assert.equal(third.statusCode, 403);
    assert.deepEqual(third.json(), {
      result: null, status: 1, message: 'failed to register user on compass',
      detail: 'user quota reached: the Basic plan allows 1 user per account and 2 are in use; delete a user or move to a larger plan',
    });
    const users = (await t.app.inject({ url: `/v1.2/domains/users?key=${token}` })).json().result.users;
    assert.deepEqual(users.map((u: { user_id: string }) => u.user_id), ['u1', 'u2']);
    const over = await d.person.get(`/projects/${d.domainId}`);
    assert.match(over.body, /<p id="plan-usage"><b>Basic<\/b> plan: <b>2<\/b> of 1 users\n<meter[^>]*><\/meter> <span class="tag warn">over the limit: new users are refused<\/span><\/p>/);

    const before = await snapshot();
    await refused(['plans', 'set', 'basic', '--max-users', '-1'], 'tessera plans: --max-users: must be a whole number from 0 to 2147483647\n');
    await refused(['plans', 'set', 'gold', '--max-users', '3'], 'tessera plans: --name: is required to create the plan "gold"\n');
    await refused(['plans', 'assign', d.orgId, 'gold'], 'tessera plans: plan: there is no plan "gold" (tessera plans list shows them)\n');
    await refused(['plans', 'assign', 'no-such-org', 'team'], 'tessera plans: organisation: there is no organisation with id or account API key "no-such-org"\n');
    assert.equal(await snapshot(), before, 'refused commands wrote nothing');

    const created = await cli(['plans', 'set', 'gold', '--max-users', '3', '--name', 'Gold'], env);
    assert.equal(created.stdout, 'created plan gold (Gold): 3 users per account\n');
    // The organisation named by its account API key, as a customer would quote it.
    const assigned = await cli(['plans', 'assign', d.accountKey, 'gold'], env);
    assert.equal(assigned.stdout, `organisation Plan Org (${d.orgId}): plan gold (Gold, 3 users per account), was basic; 2 users in use\n`);
    assert.equal((await createUser(t.app, token, { user_id: 'u3', user_country_code: '+1' })).statusCode, 200);
    const usage = await t.app.inject({ url: '/api/v1/project/usage', headers: { authorization: `Bearer ${token}` } });
    assert.deepEqual(usage.json(), { plan: 'Gold', usersUsed: 3, usersLimit: 3 });
    const page = await d.person.get(`/projects/${d.domainId}`);
    assert.match(page.body, /<p id="plan-usage"><b>Gold<\/b> plan: <b>3<\/b> of 3 users\n<meter[^>]*><\/meter> <span class="tag warn">limit reached<\/span><\/p>/);
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
