// The quota across processes: two real Tessera servers (`tessera start`, the built command)
// share one database and receive 100 simultaneous creates between them. On PostgreSQL when
// DATABASE_URL names one (a fresh schema), otherwise on an SQLite file in WAL mode.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/app.js';
import { dropSchema, openDatabase, type Db } from '../../src/db/database.js';
import { onPostgres } from '../helpers/app.js';
import { seedDomain, type SeededDomain } from './setup.js';
import { tesseraCommand } from '../helpers/command.js';

const freePort = () => new Promise<number>((resolve) => {
  const srv = createServer().listen(0, '127.0.0.1', () => {
    const port = (srv.address() as { port: number }).port;
    srv.close(() => resolve(port));
  });
});

async function waitReady(url: string, proc: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}: ${logs()}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server at ${url} did not become ready: ${logs()}`);
}

describe(`the quota with two Tessera processes sharing ${onPostgres() ? 'PostgreSQL' : 'an SQLite file'}`, () => {
  const pg = onPostgres();
  const schema = pg ? `t_kandy_${randomBytes(5).toString('hex')}` : undefined;
  const dir = pg ? undefined : mkdtempSync(join(tmpdir(), 'tessera-kandy-'));
  const env = {
    DATABASE_URL: pg ? process.env.DATABASE_URL! : `sqlite:${join(dir!, 'tessera.db')}`,
    ...(schema ? { DATABASE_SCHEMA: schema } : {}),
  };
  const procs: ChildProcess[] = [];
  const urls: string[] = [];
  let d: SeededDomain;
  let db: Db;

  before(async () => {
    // Seed with an in-test Tessera (migrations, a developer, a project), then let the servers in.
    const seedApp = await buildApp(loadConfig({ ...env, PUBLIC_URL: 'http://tessera.test', LOG_LEVEL: 'silent' }), { logLevel: 'silent' });
    try {
      d = await seedDomain(seedApp, { email: 'two@example.com', domainName: 'two.example.com' });
    } finally {
      await seedApp.app.close();
    }
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      let out = '';
      const proc = spawn(process.execPath, [...tesseraCommand(), 'start'], {
        cwd: process.cwd(),
        env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: url, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      proc.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
      proc.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
      procs.push(proc);
      urls.push(url);
      await waitReady(url, proc, () => out);
    }
    db = await openDatabase({ databaseUrl: env.DATABASE_URL, databaseSchema: schema });
  });

  after(async () => {
    for (const p of procs) {
      if (p.exitCode === null) {
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (p.exitCode === null) p.kill('SIGKILL');
      }
    }
    await db?.close();
    if (schema) await dropSchema(process.env.DATABASE_URL!, schema);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('100 simultaneous creates split across both servers end with exactly five users', async () => {
    const tokenRes = await fetch(`${urls[0]}/v1.2/domains/accesstokens?key=${d.domainKey}&domain_api_secret=${d.domainSecret}`);
    const token = ((await tokenRes.json()) as { result: { domain_access_token: string } }).result.domain_access_token;
    const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const res = await fetch(`${urls[i % 2]}/v1.2/domains/users/user_id?key=${token}`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: `p${i}`, user_country_code: '+1' }),
      });
      return { status: res.status, body: (await res.json()) as { status: number; message: string } };
    }));
    const ok = results.filter((r) => r.status === 200 && r.body.status === 0);
    const refused = results.filter((r) => r.status === 403);
    assert.equal(ok.length, 5, JSON.stringify(results.filter((r) => r.status !== 403 && r.status !== 200)));
    assert.equal(refused.length, 95);
    for (const r of refused) assert.deepEqual({ status: r.body.status, message: r.body.message }, { status: 1, message: 'failed to register user on compass' });

    const account = await db.kysely.selectFrom('api_accounts').select(['id', 'users_used']).where('org_id', '=', d.orgId).executeTakeFirstOrThrow();
    const rows = await db.kysely.selectFrom('domain_users').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', account.id).executeTakeFirstOrThrow();
    assert.equal(Number(rows.n), 5);
    assert.equal(account.users_used, 5);
  });
});
