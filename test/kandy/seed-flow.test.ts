// The seed's flow with its literal requests: a domain access token from the project key and
// secret, then users created with the token in the `key` query parameter and a JSON body.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, domainToken, seedDomain, type SeededDomain } from './setup.js';

describe('the Kandy seed: domain access token, then user creation', () => {
  let t: TestApp;
  let d: SeededDomain;
  before(async () => {
    t = await createTestApp();
    d = await seedDomain(t);
  });
  after(async () => { await t.close(); });

  test('the project key and secret give a domain access token in the envelope', async () => {
    assert.match(d.domainKey, /^DAK[0-9a-f]{32}$/);
    assert.match(d.domainSecret, /^DAS[0-9a-f]{32}$/);
    const res = await t.app.inject({ method: 'GET', url: `/v1.2/domains/accesstokens?key=${d.domainKey}&domain_api_secret=${d.domainSecret}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['message', 'result', 'status']);
    assert.equal(body.status, 0);
    assert.equal(body.message, 'success');
    assert.match(body.result.domain_access_token, /^DAT[0-9a-f]{64}$/);
    assert.equal(body.result.expires_in, 24 * 3600);
  });

  test('the seed\'s curl creates bob with generated credentials and the documented fields', async () => {
    const token = await domainToken(t.app, d);
    const res = await createUser(t.app, token, '{"user_id":"bob","user_country_code":"+1"}');
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.status, 0);
    assert.equal(body.message, 'success');
    assert.deepEqual(Object.keys(body.result).sort(), ['domain_name', 'full_user_id', 'user_api_key', 'user_api_secret', 'user_id', 'user_password']);
    assert.equal(body.result.user_id, 'bob');
    assert.equal(body.result.full_user_id, 'bob@goofiw.gmail.com');
    assert.equal(body.result.domain_name, 'goofiw.gmail.com');
    assert.match(body.result.user_api_key, /^UAK[0-9a-f]{32}$/);
    assert.match(body.result.user_api_secret, /^UAS[0-9a-f]{32}$/);
    // The generated password meets the stated policy: 16 characters, a letter, two digits.
    assert.match(body.result.user_password, /^[A-Za-z0-9]{16}$/);
    assert.match(body.result.user_password, /[A-Za-z]/);
    assert.ok((body.result.user_password.match(/[0-9]/g) ?? []).length >= 2);
  });

  test('the koa-request shape (user_id "test", "+1" for USA) works and "US" is accepted too', async () => {
    const token = await domainToken(t.app, d);
    const a = await createUser(t.app, token, { user_id: 'test', user_country_code: '+1' });
    assert.equal(a.statusCode, 200);
    assert.equal(a.json().result.full_user_id, 'test@goofiw.gmail.com');
    const b = await createUser(t.app, token, { user_id: 'carol', user_country_code: 'US', user_first_name: 'Carol', user_last_name: 'Kim', user_email: 'Carol@Example.com', user_password: 'sunny2day9' });
    assert.equal(b.statusCode, 200);
    assert.equal(b.json().result.user_password, 'sunny2day9');
  });

  test('the token also works as Authorization: Bearer, and listings carry no secrets', async () => {
    const token = await domainToken(t.app, d);
    const res = await t.app.inject({ method: 'GET', url: '/v1.2/domains/users', headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.status, 0);
    const carol = body.result.users.find((u: { user_id: string }) => u.user_id === 'carol');
    assert.deepEqual({ ...carol, created_at: 0, user_api_key: '' }, {
      user_id: 'carol', full_user_id: 'carol@goofiw.gmail.com', domain_name: 'goofiw.gmail.com', user_country_code: 'US',
      user_first_name: 'Carol', user_last_name: 'Kim', user_email: 'carol@example.com', user_api_key: '', created_at: 0,
    });
    assert.deepEqual(body.result.users.map((u: { user_id: string }) => u.user_id).sort(), ['bob', 'carol', 'test']);
    assert.doesNotMatch(res.body, /user_password|user_api_secret|UAS[0-9a-f]/);
  });

  test('secrets are stored only as hashes', async () => {
    const rows = await t.db.kysely.selectFrom('domain_users').selectAll().execute();
    for (const r of rows) {
      assert.doesNotMatch(r.api_secret_hash, /^UAS/);
      // Generated passwords (high entropy) get SHA-256, given ones scrypt.
      assert.match(r.password_hash, r.user_id === 'carol' ? /^scrypt\$/ : /^sha256\$[A-Za-z0-9_-]{43}$/);
    }
    const domain = await t.db.kysely.selectFrom('domains').selectAll().executeTakeFirstOrThrow();
    assert.notEqual(domain.api_secret_hash, d.domainSecret);
    const tokens = await t.db.kysely.selectFrom('domain_tokens').select('token_hash').execute();
    for (const tk of tokens) assert.doesNotMatch(tk.token_hash, /^DAT/);
  });

  test('a user access token comes from the domain key, secret and user_id; deleting a user frees it', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1.2/domains/users/accesstokens?key=${d.domainKey}&domain_api_secret=${d.domainSecret}&user_id=bob` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 0);
    assert.match(res.json().result.user_access_token, /^UAT[0-9a-f]{64}$/);
    assert.equal(res.json().result.full_user_id, 'bob@goofiw.gmail.com');

    const token = await domainToken(t.app, d);
    const del = await t.app.inject({ method: 'DELETE', url: `/v1.2/domains/users?key=${token}&user_id=bob` });
    assert.equal(del.statusCode, 200);
    assert.deepEqual(del.json(), { result: null, status: 0, message: 'User Deleted' });
    const again = await createUser(t.app, token, { user_id: 'bob', user_country_code: '+1' });
    assert.equal(again.statusCode, 200);
  });
});
