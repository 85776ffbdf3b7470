// A provisioned user's own API key and secret (UAK…/UAS…, returned once at creation) get that user
// an access token, on the Kandy surface (the user access token endpoint with key=<user API key>)
// and on the native API; every way it can fail, with exact envelopes and nothing written.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { sha256 } from '../../src/lib/hash.js';
import { createUser, domainToken, seedDomain, type SeededDomain } from './setup.js';

const env = (status: number, message: string) => ({ result: null, status, message });
const MISMATCH = env(5, 'user_api_secret: the key and secret do not match');

describe('a user\'s own API key and secret', () => {
  let t: TestApp;
  let d: SeededDomain;
  let token: string;
  let bob: { user_api_key: string; user_api_secret: string };
  let carol: { user_api_key: string; user_api_secret: string };
  let tokensBefore: number;

  const tokenCount = async () => (await t.db.kysely.selectFrom('domain_tokens').select('token_hash').execute()).length;
  const userTokenUrl = (key: string, secret?: string) => `/v1.2/domains/users/accesstokens?key=${key}${secret === undefined ? '' : `&user_api_secret=${secret}`}`;
  const expectRefused = async (res: LightMyRequestResponse, http: number, body: unknown) => {
    assert.equal(res.statusCode, http, res.body);
    assert.deepEqual(res.json(), body);
    assert.equal(await tokenCount(), tokensBefore, 'no token was stored');
  };

  before(async () => {
    t = await createTestApp();
    d = await seedDomain(t, { email: 'keys@example.com', domainName: 'keys.example.com' });
    token = await domainToken(t.app, d);
    bob = (await createUser(t.app, token, { user_id: 'bob', user_country_code: '+1' })).json().result;
    carol = (await createUser(t.app, token, { user_id: 'carol', user_country_code: 'US' })).json().result;
  });
  beforeEach(async () => { tokensBefore = await tokenCount(); });
  after(async () => { await t.close(); });

  test('the user API key and secret give a user access token for that user', async () => {
    const res = await t.app.inject({ url: userTokenUrl(bob.user_api_key, bob.user_api_secret) });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json();
    assert.match(body.result.user_access_token, /^UAT[0-9a-f]{64}$/);
    assert.deepEqual({ ...body, result: { ...body.result, user_access_token: '' } },
      { result: { user_access_token: '', full_user_id: 'bob@keys.example.com', expires_in: 24 * 3600 }, status: 0, message: 'success' });
    const row = await t.db.kysely.selectFrom('domain_tokens').innerJoin('domain_users', 'domain_users.id', 'domain_tokens.domain_user_id')
      .select(['domain_tokens.kind', 'domain_users.user_id']).where('domain_tokens.token_hash', '=', sha256(body.result.user_access_token)).executeTakeFirstOrThrow();
    assert.deepEqual(row, { kind: 'user', user_id: 'bob' });
    // A user token is not a domain token: it cannot provision users.
    const misuse = await createUser(t.app, body.result.user_access_token, { user_id: 'mallory', user_country_code: '+1' });
    assert.deepEqual([misuse.statusCode, misuse.json()], [401, env(5, 'key: is not a valid domain access token')]);
  });

  test('the native API: POST /api/v1/user/access-tokens', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/user/access-tokens', payload: { apiKey: carol.user_api_key, apiSecret: carol.user_api_secret } });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    assert.match(body.accessToken, /^UAT[0-9a-f]{64}$/);
    assert.deepEqual({ ...body, accessToken: '' }, { accessToken: '', tokenType: 'Bearer', expiresIn: 24 * 3600, fullUserId: 'carol@keys.example.com' });

    const wrong = await t.app.inject({ method: 'POST', url: '/api/v1/user/access-tokens', payload: { apiKey: carol.user_api_key, apiSecret: bob.user_api_secret } });
    assert.equal(wrong.statusCode, 401);
    assert.deepEqual(wrong.json(), { error: { code: 'invalid_credentials', message: 'apiSecret: the key and secret do not match', details: { field: 'apiSecret' } } });
    const missing = await t.app.inject({ method: 'POST', url: '/api/v1/user/access-tokens', payload: { apiKey: carol.user_api_key } });
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(missing.json(), { error: { code: 'validation_failed', message: 'apiSecret: is required', details: { field: 'apiSecret' } } });
  });

  test('a missing or wrong secret, another user\'s secret, an unknown key: refused, nothing stored', async () => {
    await expectRefused(await t.app.inject({ url: userTokenUrl(bob.user_api_key) }), 400, env(3, 'user_api_secret: is required'));
    await expectRefused(await t.app.inject({ url: userTokenUrl(bob.user_api_key, '') }), 400, env(3, 'user_api_secret: is required'));
    await expectRefused(await t.app.inject({ url: userTokenUrl(bob.user_api_key, `UAS${'0'.repeat(32)}`) }), 401, MISMATCH);
    await expectRefused(await t.app.inject({ url: userTokenUrl(bob.user_api_key, carol.user_api_secret) }), 401, MISMATCH);
    await expectRefused(await t.app.inject({ url: userTokenUrl(`UAK${'0'.repeat(32)}`, bob.user_api_secret) }), 401, MISMATCH);
  });

  test('a user key with the project\'s parameters, or a project key with the user\'s secret, is named as the mistake', async () => {
    await expectRefused(await t.app.inject({ url: `${userTokenUrl(bob.user_api_key, bob.user_api_secret)}&user_id=carol` }), 400,
      env(4, 'user_id: is not accepted with a user API key (the key names the user)'));
    await expectRefused(await t.app.inject({ url: `/v1.2/domains/users/accesstokens?key=${bob.user_api_key}&domain_api_secret=${d.domainSecret}` }), 400,
      env(4, 'domain_api_secret: is not accepted with a user API key; send user_api_secret'));
    // The project key keeps Kandy's meaning: it needs the project secret and a user_id.
    await expectRefused(await t.app.inject({ url: `/v1.2/domains/users/accesstokens?key=${d.domainKey}&user_api_secret=${bob.user_api_secret}&user_id=bob` }), 400,
      env(3, 'domain_api_secret: is required'));
  });

  test('deleting the user stops its key and its tokens; rotating the project secret revokes user tokens too', async () => {
    const carolToken = (await t.app.inject({ url: userTokenUrl(carol.user_api_key, carol.user_api_secret) })).json().result.user_access_token;
    const bobToken = (await t.app.inject({ url: userTokenUrl(bob.user_api_key, bob.user_api_secret) })).json().result.user_access_token;

    const del = await t.app.inject({ method: 'DELETE', url: `/v1.2/domains/users?key=${token}&user_id=carol` });
    assert.deepEqual(del.json(), env(0, 'User Deleted'));
    assert.equal(await t.db.kysely.selectFrom('domain_tokens').select('token_hash').where('token_hash', '=', sha256(carolToken)).executeTakeFirst(), undefined);
    tokensBefore = await tokenCount();
    await expectRefused(await t.app.inject({ url: userTokenUrl(carol.user_api_key, carol.user_api_secret) }), 401, MISMATCH);

    const user = await t.db.kysely.selectFrom('users').select('id').where('email', '=', 'keys@example.com').executeTakeFirstOrThrow();
    await t.services.domains.rotateDomainSecret(await t.services.accounts.actor(user.id), d.domainId);
    const row = await t.db.kysely.selectFrom('domain_tokens').select('revoked_at').where('token_hash', '=', sha256(bobToken)).executeTakeFirstOrThrow();
    assert.equal(typeof row.revoked_at, 'number', 'the token of bob was revoked');
    // The user's own key does not depend on the project secret: it still works.
    const again = await t.app.inject({ url: userTokenUrl(bob.user_api_key, bob.user_api_secret) });
    assert.equal(again.statusCode, 200, again.body);
  });
});
