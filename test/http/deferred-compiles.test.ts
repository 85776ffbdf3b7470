// Route schemas compile on first use (src/http/deferred-compiles.ts): every one of them still
// compiles (what start-up used to prove), a route's first request compiles only its own, and an
// app answering from validators and serialisers compiled on the spot answers exactly as one whose
// schemas were all compiled before its first request.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { DeferredCompiles } from '../../src/http/deferred-compiles.js';

const form = { 'content-type': 'application/x-www-form-urlencoded' };
// Headers, form bodies and HTML forms refused by their validators, and answers shaped by serialisers.
const requests = [
  { method: 'GET', url: '/v1/accessToken', headers: {} },
  { method: 'GET', url: '/v1/accessToken', headers: { applicationId: 'x', applicationSecret: 'y' } },
  { method: 'POST', url: '/oauth/token', headers: form, payload: 'grant_type=bogus' },
  { method: 'POST', url: '/oauth/token', headers: form, payload: 'grant_type=client_credentials' },
  { method: 'GET', url: '/.well-known/openid-configuration', headers: {} },
  { method: 'GET', url: '/healthz', headers: {} },
  { method: 'GET', url: '/v1/nope', headers: {} },
] as const;

describe('route schemas compiled on first use', () => {
  let lazy: TestApp;
  let eager: TestApp;

  before(async () => {
    [lazy, eager] = await Promise.all([createTestApp(), createTestApp()]);
    eager.compiles.compileAll();
  });
  after(async () => {
    await lazy?.close();
    await eager?.close();
  });

  test('every route\'s validators and serialisers compile', () => {
    assert.ok(lazy.compiles.pending > lazy.routes.length, `${lazy.compiles.pending} schemas for ${lazy.routes.length} routes`);
    assert.equal(eager.compiles.pending, 0);
  });

  test('a first request compiles its route\'s schemas only, and answers as if all were compiled', async () => {
    const before = lazy.compiles.pending;
    const health = await lazy.app.inject({ method: 'GET', url: '/healthz' });
    assert.deepEqual([health.statusCode, health.json()], [200, { status: 'ok' }]);
    // /healthz has one response schema; compiling it left every other route's pending.
    assert.equal(lazy.compiles.pending, before - 1);

    for (const r of requests) {
      const [a, b] = await Promise.all([lazy.app.inject(r), eager.app.inject(r)]);
      assert.deepEqual([a.statusCode, a.headers['content-type'], a.body], [b.statusCode, b.headers['content-type'], b.body], `${r.method} ${r.url}`);
    }
    const refused = await lazy.app.inject(requests[0]);
    assert.deepEqual([refused.statusCode, refused.json()], [400, { error: { code: 'validation_failed', message: 'applicationId: is required', details: { field: 'applicationId' } } }]);
    const grant = await lazy.app.inject(requests[2]);
    assert.deepEqual([grant.statusCode, grant.json()], [400, { error: 'unsupported_grant_type', error_description: 'grant_type "bogus" is not supported' }]);
    // The key set's serialiser (each app has keys of its own) still publishes only the public members.
    const jwks = await lazy.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    assert.deepEqual(Object.keys(jwks.json().keys[0]).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  });

  test('a schema that cannot compile fails compileAll, and its first use, with its own error', () => {
    const compiles = new DeferredCompiles();
    const broken = compiles.validator(() => { throw new Error('strict mode: unknown keyword: "colour"'); });
    const fine = compiles.serializer(() => (payload) => JSON.stringify(payload));
    assert.equal(compiles.pending, 2);
    assert.throws(() => compiles.compileAll(), /unknown keyword: "colour"/);
    assert.throws(() => broken({}), /unknown keyword: "colour"/);
    assert.equal(fine({ a: 1 }), '{"a":1}');
    assert.equal(compiles.pending, 1);
  });
});
