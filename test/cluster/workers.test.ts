// `tessera start --workers 2`: two processes sharing the port behind the primary. Checked over
// real sockets, each request on a new connection so that the round robin spreads them: both
// workers answer; what another process changes (a test app on the same SQLite file or
// PostgreSQL schema, as `tessera` commands and other instances would) every worker honours at
// once; rate limits count across workers; /metrics sums the workers; a killed worker is replaced;
// SIGHUP restarts the workers under load without one failed request; SIGTERM drains and exits 0.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { sql } from 'kysely';
import { createTestApp, onPostgres, type TestApp } from '../helpers/app.js';
import { seedConnectorFlow } from '../helpers/portal.js';
import { dropSchema } from '../../src/db/database.js';
import { SigningKeys } from '../../src/keys/signing-keys.js';
import { Workers, type Answer } from '../helpers/workers.js';
import { tesseraCommand } from '../helpers/command.js';

const REVOKED = { error: { code: 'invalid_token', message: 'accessToken: has been revoked', details: { field: 'accessToken' } } };

/** Requests on new connections until every answer satisfies `ok` (PostgreSQL's NOTIFY takes a round trip), for up to a second. */
async function settled(read: () => Promise<Answer>, ok: (a: Answer) => boolean, times = 6): Promise<Answer[]> {
  const deadline = Date.now() + (onPostgres() ? 1000 : 0);
  for (;;) {
    const answers: Answer[] = [];
    for (let i = 0; i < times; i++) answers.push(await read());
    if (answers.every(ok) || Date.now() >= deadline) return answers;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe(`tessera start --workers 2 on ${onPostgres() ? 'PostgreSQL' : 'an SQLite file'}`, () => {
  const pg = onPostgres();
  const schema = pg ? `t_work_${randomBytes(5).toString('hex')}` : undefined;
  const dir = pg ? undefined : mkdtempSync(join(tmpdir(), 'tessera-workers-'));
  const env: Record<string, string> = pg ? { DATABASE_URL: process.env.DATABASE_URL!, DATABASE_SCHEMA: schema! } : { DATABASE_URL: `sqlite:${join(dir!, 'tessera.db')}` };
  let other: TestApp;
  let w: Workers;
  let s: Awaited<ReturnType<typeof seedConnectorFlow>>;
  let token = '';
  const tokenHeaders = (secret = s.connector.secret) => ({ applicationId: s.connector.id, applicationSecret: secret, refreshToken: s.refreshToken });
  const members = () => w.get(`/v1/groups/${s.groupId}/members`, { accessToken: token });

  before(async () => {
    other = await createTestApp(env);
    s = await seedConnectorFlow(other.app);
    w = await Workers.start(env, 2);
    const exchange = await w.get('/v1/accessToken', tokenHeaders());
    assert.equal(exchange.status, 200, exchange.body);
    token = JSON.parse(exchange.body).accessToken as string;
  });
  after(async () => {
    await w?.stop();
    await other?.close();
    if (schema) await dropSchema(process.env.DATABASE_URL!, schema);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('both workers answer, and a worker\'s cached member list follows another process\'s change', async () => {
    assert.equal(w.workerPids().length, 2);
    const before = await settled(members, (a) => a.status === 200);
    for (const a of before) assert.deepEqual(JSON.parse(a.body).members.map((m: { mobileNumber: string }) => m.mobileNumber), ['+14155550123']);
    // Which process answered each request: the request log carries the worker's pid. A worker
    // writes its log asynchronously, after the response, so the lines may trail the answers.
    const served = () => new Set(w.lines().filter((l) => l.msg === 'request completed').map((l) => l.pid));
    await w.until(() => served().size === 2, 5_000, 'requests logged by both workers (the round robin uses both)');

    const add = await other.app.inject({ method: 'PUT', url: `/v1/groups/${s.groupId}/members`, headers: { accessToken: token }, payload: { members: ['+14155550177'] } });
    assert.deepEqual(add.json(), { result: true, membersAdded: 1 });
    for (const a of await settled(members, (x) => JSON.parse(x.body).members.length === 2)) {
      assert.deepEqual(JSON.parse(a.body).members.map((m: { mobileNumber: string }) => m.mobileNumber), ['+14155550123', '+14155550177']);
    }
  });

  // Another process's commit would make SQLite drop a worker's memory map at its next read
  // (src/db/database.ts). Linux lists what a process maps in /proc/<pid>/maps; the WAL is first
  // checkpointed, so that the workers read pages from the file itself, not the WAL.
  test('writing one SQLite file beside each other, the workers read it without a memory map', { skip: pg && 'SQLite only' }, async () => {
    await sql`pragma wal_checkpoint(truncate)`.execute(other.db.kysely);
    for (const a of await settled(members, (x) => x.status === 200)) assert.equal(a.status, 200);
    const file = join(dir!, 'tessera.db');
    // Each maps the WAL index (tessera.db-shm), as SQLite always does; none maps the database.
    for (const pid of w.workerPids()) assert.deepEqual(readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').filter((l) => l.endsWith(` ${file}`)), [], `worker ${pid}`);
  });

  // The workers run the bundle `npm start` runs (test/helpers/command.ts); `other` runs src/. The
  // surfaces whose packages the bundle treats differently (Swagger UI's files and the OpenAPI
  // document from node_modules, the portal's pages, the error shapes) answer alike.
  test('the built command answers as the source does, on every surface', async () => {
    const paths = ['/openapi.json', '/docs/static/swagger-initializer.js', '/.well-known/openid-configuration', '/v1.2/nope', '/v1/nope', '/oauth/nope', '/favicon.svg'];
    for (const path of paths) {
      const [built, source] = await Promise.all([w.get(path), other.app.inject({ method: 'GET', url: path })]);
      assert.deepEqual([built.status, built.headers['content-type'], built.body], [source.statusCode, source.headers['content-type'], source.body], path);
    }
    const doc = JSON.parse((await w.get('/openapi.json')).body) as { openapi: string; paths: object };
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(Object.keys(doc.paths).length > 50);
    // A page: the sign-in form, whose CSRF token differs between the two.
    const login = await w.get('/login');
    assert.deepEqual([login.status, login.headers['content-type']], [200, 'text/html; charset=utf-8']);
    assert.match(login.body, /<form[^>]+action="\/login"/);
  });

  test('a signing key rotated by another process is published and used by every worker', async () => {
    const kid = await new SigningKeys(other.db.kysely, other.clock).rotate();
    for (const a of await settled(() => w.get('/.well-known/jwks.json'), (x) => (JSON.parse(x.body) as { keys: { kid: string }[] }).keys[0]?.kid === kid)) {
      assert.equal((JSON.parse(a.body) as { keys: { kid: string }[] }).keys[0]!.kid, kid);
    }
    for (let i = 0; i < 4; i++) {
      const fresh = JSON.parse((await w.get('/v1/accessToken', tokenHeaders())).body).accessToken as string;
      assert.equal(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid, kid);
    }
  });

  test('rate limits count across workers: the 21st wrong secret is refused whichever worker gets it', async () => {
    for (let i = 1; i <= 20; i++) {
      const a = await w.get('/v1/accessToken', tokenHeaders('tcs_wrong'));
      assert.equal(a.status, 401, `attempt ${i}: ${a.body}`);
    }
    for (let i = 0; i < 4; i++) {
      const a = await w.get('/v1/accessToken', tokenHeaders(i % 2 ? s.connector.secret : 'tcs_wrong'));
      assert.equal(a.status, 429, `after the limit (${i}): ${a.body}`);
      assert.match(String(a.headers['retry-after']), /^\d+$/);
    }
  });

  test('/metrics sums every worker\'s counts', async () => {
    const count = (text: string) => Number(/^http_request_duration_seconds_count\{method="GET",route="\/healthz",status_code="200"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    const before = count((await w.get('/metrics')).body);
    for (let i = 0; i < 10; i++) assert.equal((await w.get('/healthz')).status, 200);
    const scrape = await w.get('/metrics');
    assert.equal(scrape.status, 200);
    assert.match(String(scrape.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.equal(count(scrape.body), before + 10);
  });

  test('a grant revoked by another process stops the access token on every worker at once', async () => {
    const page = await s.person.get(`/groups/${s.groupId}`);
    const grantId = new RegExp(`/groups/${s.groupId}/connectors/([0-9a-f-]{36})/revoke`).exec(page.body)![1]!;
    assert.equal((await s.person.post(`/groups/${s.groupId}/connectors/${grantId}/revoke`, {})).statusCode, 303);
    for (const a of await settled(members, (x) => x.status === 401)) assert.deepEqual([a.status, JSON.parse(a.body)], [401, REVOKED]);
  });

  test('a worker that dies is replaced; requests keep being answered', async () => {
    const [victim, survivor] = w.workerPids();
    process.kill(victim!, 'SIGKILL');
    await w.until(() => w.workerPids().length === 2 && !w.workerPids().includes(victim!), 30_000, 'a replacement worker');
    assert.ok(w.workerPids().includes(survivor!));
    // The primary's line and the new worker's reach the pipe in either order.
    await w.until(() => /"msg":"worker died( young)?: starting another"/.test(w.log), 5_000, 'the primary to say why');
    for (let i = 0; i < 6; i++) assert.equal((await w.get('/healthz')).status, 200);
  });

  test('SIGHUP restarts every worker, one at a time, while 16 keep-alive clients drop no request', async () => {
    const before = w.workerPids();
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const statuses = new Map<number, number>();
    const errors: string[] = [];
    let running = true;
    const client = async () => {
      while (running) {
        try {
          const a = await w.get('/api/v1/jwt_public_keys', {}, agent);
          statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    };
    const clients = Array.from({ length: 16 }, client);
    await new Promise((r) => setTimeout(r, 300));
    w.signal('SIGHUP');
    await w.until(() => w.lines().some((l) => l.msg === 'rolling restart done'), 90_000, 'the rolling restart');
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    await Promise.all(clients);
    agent.destroy();
    const after_ = w.workerPids();
    assert.deepEqual(errors, []);
    assert.deepEqual([...statuses.keys()], [200]);
    assert.ok(statuses.get(200)! > 100, `${statuses.get(200)} requests answered during the restart`);
    assert.equal(after_.length, 2);
    assert.deepEqual(after_.filter((pid) => before.includes(pid)), [], 'every worker was replaced');
  });

  test('SIGTERM drains the workers and exits 0; a bad --workers is a usage error', async () => {
    const pids = w.workerPids();
    assert.equal(await w.stop(), 0);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), 'the worker is gone');
    const run = promisify(execFile);
    await assert.rejects(run(process.execPath, [...tesseraCommand(), 'start', '--workers', '0'], { env: { ...process.env, ...env } }),
      (err: { code: number; stderr: string }) => err.code === 2 && /^tessera: --workers must be a whole number from 1 to 256, or auto \(one per CPU\), got "0"\n/.test(err.stderr));
    await assert.rejects(run(process.execPath, [...tesseraCommand(), 'start'], { env: { ...process.env, ...env, WORKERS: 'many' } }),
      (err: { code: number; stderr: string }) => err.code === 1 && err.stderr === 'configuration error: WORKERS must be a whole number from 1 to 256, or auto (one per CPU), got "many"\n');
  });
});

// A worker per CPU, each with the whole pool, would exceed PostgreSQL's max_connections on a
// large server: the workers share DATABASE_POOL_SIZE (config.ts, poolShare).
describe('tessera start --workers 2 shares DATABASE_POOL_SIZE', { skip: onPostgres() ? false : 'PostgreSQL only' }, () => {
  test('under load the two workers hold two query connections each (4 ÷ 2) and one for the change feed', async () => {
    const id = randomBytes(5).toString('hex');
    const schema = `t_pool_${id}`;
    // The workers' connections are told apart from every other test's by their application name.
    const url = new URL(process.env.DATABASE_URL!);
    url.searchParams.set('application_name', `tessera_pool_${id}`);
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    const w = await Workers.start({ DATABASE_URL: url.toString(), DATABASE_SCHEMA: schema, DATABASE_POOL_SIZE: '4' }, 2);
    try {
      const held = async () => Number((await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [`tessera_pool_${id}`])).rows[0]!.n);
      let most = 0;
      let done = false;
      // Each /readyz asks the database; 200 at once keep both pools full.
      const load = Promise.all(Array.from({ length: 200 }, () => w.get('/readyz'))).finally(() => { done = true; });
      while (!done) {
        most = Math.max(most, await held());
        await new Promise((r) => setTimeout(r, 2));
      }
      assert.deepEqual([...new Set((await load).map((a) => a.status))], [200]);
      most = Math.max(most, await held());
      assert.equal(most, 6, 'two workers × (two pooled connections + the change feed)');
    } finally {
      await w.stop();
      await admin.end();
      await dropSchema(process.env.DATABASE_URL!, schema);
    }
  });
});
