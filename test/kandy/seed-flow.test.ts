// The seed's flow with its literal requests: a domain access token from the project key and
// secret, then users created with the token in the `key` query parameter and a JSON body.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { sha256, verifyPassword } from '../../src/lib/hash.js';
import { createUser, domainToken as requestDomainToken, seedDomain, type SeededDomain } from './setup.js';

interface Created { user_id: string; user_password: string; user_api_key: string; user_api_secret: string }

describe('the Kandy seed: domain access token, then user creation', () => {
  let t: TestApp;
  let d: SeededDomain;
  // Every credential handed out below, so the storage test can check each one's stored hash.
  const created: Created[] = [];
  const issued: string[] = [];
  const domainToken = async (...args: Parameters<typeof requestDomainToken>) => {
    const token = await requestDomainToken(...args);
    issued.push(token);
    return token;
  };
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
    issued.push(body.result.domain_access_token);
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
    created.push(body.result);
  });

  test('the koa-request shape (user_id "test", "+1" for USA) works and "US" is accepted too', async () => {
    const token = await domainToken(t.app, d);
    const a = await createUser(t.app, token, { user_id: 'test', user_country_code: '+1' });
    assert.equal(a.statusCode, 200);
    assert.equal(a.json().result.full_user_id, 'test@goofiw.gmail.com');
    created.push(a.json().result);
    const b = await createUser(t.app, token, { user_id: 'carol', user_country_code: 'US', user_first_name: 'Carol', user_last_name: 'Kim', user_email: 'Carol@Example.com', user_password: 'sunny2day9' });
    assert.equal(b.statusCode, 200);
    assert.equal(b.json().result.user_password, 'sunny2day9');
    created.push(b.json().result);
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

  test('secrets, passwords and tokens are stored as their hashes, nothing else', async () => {
    const rows = await t.db.kysely.selectFrom('domain_users').selectAll().orderBy('user_id').execute();
    assert.deepEqual(rows.map((r) => r.user_id), ['bob', 'carol', 'test']);
    for (const r of rows) {
      const c = created.find((x) => x.user_id === r.user_id)!;
      assert.equal(r.api_key, c.user_api_key);
      assert.equal(r.api_secret_hash, sha256(c.user_api_secret));
      if (r.user_id === 'carol') {
        // A password someone chose gets scrypt, which verifies it and nothing else.
        assert.match(r.password_hash, /^scrypt\$32768\$8\$1\$/);
        assert.equal(await verifyPassword('sunny2day9', r.password_hash), true);
        assert.equal(await verifyPassword('sunny2day8', r.password_hash), false);
      } else {
        // Generated passwords (about 95 random bits) get SHA-256, with the scheme recorded.
        assert.equal(r.password_hash, `sha256$${sha256(c.user_password)}`);
      }
    }
    const domain = await t.db.kysely.selectFrom('domains').select('api_secret_hash').where('id', '=', d.domainId).executeTakeFirstOrThrow();
    assert.equal(domain.api_secret_hash, sha256(d.domainSecret));
    const account = await t.db.kysely.selectFrom('api_accounts').select('api_secret_hash').where('org_id', '=', d.orgId).executeTakeFirstOrThrow();
    assert.equal(account.api_secret_hash, sha256(d.accountSecret));
    const tokens = await t.db.kysely.selectFrom('domain_tokens').select('token_hash').where('kind', '=', 'domain').execute();
    assert.deepEqual(tokens.map((tk) => tk.token_hash).sort(), issued.map(sha256).sort());
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
