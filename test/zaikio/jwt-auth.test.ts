// What a resource server written as Zaikio's jwt_auth needs from the hub, in Zaikio's shapes:
// the public keys (GET /api/v1/jwt_public_keys), the revoked-token list
// (GET /api/v1/revoked_access_tokens) and revoking the calling token (POST, 201
// {access_token_id}); a missing, expired or invalid Bearer JWT answers Zaikio's errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { basic, developer, tokenRequest, type OAuthClientReg } from '../oauth/helpers.js';

describe('Zaikio jwt_auth endpoints', () => {
  let t: TestApp;
  let client: OAuthClientReg;

  before(async () => {
    t = await createTestApp();
    t.clock.freeze();
    client = await (await developer(t.app, 'zaikio-dev@example.com')).register('Directory client');
  });
  after(async () => { await t.close(); });

  const token = async () => (await tokenRequest(t.app, { grant_type: 'client_credentials' }, { authorization: basic(client.id, client.secret) })).json().access_token as string;
  const revokedIds = async () => {
    const res = await t.app.inject({ url: '/api/v1/revoked_access_tokens' });
    assert.equal(res.statusCode, 200);
    return res.json().revoked_token_ids as string[];
  };

  test('a resource server verifies tokens with the published keys and refuses one once it is on the revoked list', async () => {
    const keys = await t.app.inject({ url: '/api/v1/jwt_public_keys' });
    assert.equal(keys.statusCode, 200);
    assert.deepEqual(keys.json(), (await t.app.inject({ url: '/.well-known/jwks.json' })).json());
    const jwks = createLocalJWKSet(keys.json() as JSONWebKeySet);

    // The resource server's check, as jwt_auth does it: signature, expiry, then the revoked list.
    const accepts = async (jwt: string) => {
      const { payload } = await jwtVerify(jwt, jwks, { issuer: t.config.publicUrl, currentDate: new Date(t.clock.now()) });
      return !(await revokedIds()).includes(payload.jti!);
    };
    const jwt = await token();
    assert.equal(await accepts(jwt), true);
    const jti = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()).jti as string;

    const revoke = await t.app.inject({ method: 'POST', url: '/api/v1/revoked_access_tokens', headers: { authorization: `Bearer ${jwt}` } });
    assert.deepEqual([revoke.statusCode, revoke.json()], [201, { access_token_id: jti }]);
    assert.deepEqual(await revokedIds(), [jti]);
    assert.equal(await accepts(jwt), false);
    // The hub refuses it too: a revoked token cannot revoke again, and introspection finds it inactive.
    const again = await t.app.inject({ method: 'POST', url: '/api/v1/revoked_access_tokens', headers: { authorization: `Bearer ${jwt}` } });
    assert.deepEqual([again.statusCode, again.json()], [403, { errors: ['invalid_jwt'] }]);
    const introspection = await tokenRequest(t.app, { token: jwt }, { authorization: basic(client.id, client.secret) }, '/oauth/introspect');
    assert.equal(introspection.json().active, false);
    // Another token of the same client is not affected.
    assert.equal(await accepts(await token()), true);
  });

  test('a missing, malformed, foreign or expired Bearer JWT answers Zaikio\'s errors; revoked ids leave the list when they expire', async () => {
    const post = (authorization?: string) => t.app.inject({ method: 'POST', url: '/api/v1/revoked_access_tokens', headers: authorization ? { authorization } : {} });
    const cases: [string | undefined, number, unknown][] = [
      [undefined, 401, { errors: ['no_jwt_passed'] }],
      ['Bearer', 401, { errors: ['no_jwt_passed'] }],
      ['Bearer not-a-jwt', 403, { errors: ['invalid_jwt'] }],
      ['Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 403, { errors: ['invalid_jwt'] }],
      ['Basic Zm9vOmJhcg==', 401, { errors: ['no_jwt_passed'] }],
    ];
    for (const [authorization, status, body] of cases) {
      const res = await post(authorization);
      assert.deepEqual([res.statusCode, res.json()], [status, body], String(authorization));
    }
    const jwt = await token();
    const revoked = await t.app.inject({ method: 'POST', url: '/api/v1/revoked_access_tokens', headers: { authorization: `Bearer ${await token()}` } });
    assert.equal(revoked.statusCode, 201);
    t.clock.advance(61 * 60_000);
    const expired = await post(`Bearer ${jwt}`);
    assert.deepEqual([expired.statusCode, expired.json()], [403, { errors: ['jwt_expired'] }]);
    assert.deepEqual(await revokedIds(), [], 'an expired token needs no entry');
  });

  test('unknown paths and methods of the directory answer in its shape', async () => {
    for (const [method, url] of [['GET', '/api/v1/person/nope'], ['DELETE', '/api/v1/revoked_access_tokens'], ['GET', '/api/v1/organization/nope'], ['PUT', '/api/v1/platforms/acme/members']] as const) {
      const res = await t.app.inject({ method, url });
      assert.deepEqual([res.statusCode, res.json()], [404, { errors: ['not_found'] }], `${method} ${url}`);
    }
  });
});
