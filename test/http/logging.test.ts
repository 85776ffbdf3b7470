// Request loggers are made lazily (src/http/logging.ts): the lines that are written must still
// carry the request id and the redaction rules, and levels below the configured one write nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogCapture, createTestApp } from '../helpers/app.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

async function linesAt(level: string): Promise<Record<string, unknown>[]> {
  const log = new LogCapture();
  const t = await createTestApp({}, {}, { logLevel: level, logStream: log.stream });
  try {
    await t.app.inject({ url: '/healthz' });
    await t.app.inject({ url: '/v1/accessToken', headers: { applicationId: 'x', applicationSecret: 'a-secret-value', refreshToken: 'a-refresh-token' } });
  } finally {
    await t.close();
  }
  return log.lines();
}

test('at info, each request logs its incoming and completed lines under its request id, credentials redacted', async () => {
  const lines = (await linesAt('info')).filter((l) => l.reqId !== undefined);
  const incoming = lines.filter((l) => l.msg === 'incoming request');
  const completed = lines.filter((l) => l.msg === 'request completed');
  assert.equal(incoming.length, 2);
  assert.equal(completed.length, 2);
  assert.deepEqual(incoming.map((l) => l.reqId), completed.map((l) => l.reqId));
  assert.notEqual(incoming[0]!.reqId, incoming[1]!.reqId);
  assert.deepEqual(completed.map((l) => (l.res as { statusCode: number }).statusCode), [200, 401]);
  const text = JSON.stringify(lines);
  assert.ok(!text.includes('a-secret-value') && !text.includes('a-refresh-token'), 'a credential reached the log');
});

test('at warn, requests that succeed or are refused write no request lines', async () => {
  const lines = await linesAt('warn');
  assert.deepEqual(lines.filter((l) => l.reqId !== undefined), []);
});

test('a route with its own logLevel logs at that level under a quieter server', async () => {
  const log = new LogCapture();
  const { app } = await buildApp(loadConfig({ DATABASE_URL: 'sqlite::memory:', PRUNE_INTERVAL_SECONDS: '0' }), { logLevel: 'warn', logStream: log.stream });
  try {
    app.get('/chatty', { logLevel: 'info' }, async (req) => {
      req.log.info({ step: 'handler' }, 'route-level line');
      return { ok: true };
    });
    await app.ready();
    assert.equal((await app.inject({ url: '/chatty' })).statusCode, 200);
    assert.deepEqual(log.lines().filter((l) => l.reqId !== undefined).map((l) => l.msg), ['incoming request', 'route-level line', 'request completed']);
  } finally {
    await app.close();
  }
});
