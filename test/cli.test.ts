// The tessera command, configuration validation, and the health endpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createTestApp } from './helpers/app.js';

const run = promisify(execFile);
const cli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, ...env } });

test('configuration is validated once, with messages naming the variable', () => {
  assert.throws(() => loadConfig({ PORT: 'eighty' }), /PORT must be a port number \(0-65535\), got "eighty"/);
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL must use postgres: or postgresql:/);
  assert.throws(() => loadConfig({ SMS_PROVIDER: 'pigeon' }), /SMS_PROVIDER must be "outbox" or "http"/);
  assert.throws(() => loadConfig({ SMS_PROVIDER: 'http' }), /SMS_PROVIDER=http needs SMS_HTTP_URL/);
  assert.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL must be one of/);
  const c = loadConfig({});
  assert.deepEqual([c.port, c.host, c.publicUrl, c.databaseUrl, c.sms.provider], [8080, '0.0.0.0', 'http://localhost:8080', 'sqlite:./data/tessera.db', 'outbox']);
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
    const missing = await t.app.inject({ method: 'GET', url: '/nope' });
    assert.deepEqual([missing.statusCode, missing.json()], [404, { error: { code: 'not_found', message: 'No route for GET /nope' } }]);
  } finally {
    await t.close();
  }
});
