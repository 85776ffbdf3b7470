// Every failure path of the Kandy surface, with its exact envelope and HTTP status, and proof
// that nothing was written. Tokens: unknown, of the wrong kind, expired, revoked (secret rotated,
// portal revocation, project deleted).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { createTestApp, onPostgres, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { createUser, domainToken, seedDomain, type SeededDomain } from './setup.js';

const env = (status: number, message: string) => ({ result: null, status, message });
const COUNTRY = 'user_country_code: must be a calling code such as "+1" or a two-letter country code such as "US"';
const PASSWORD = 'user_password: given passwords must be 8 to 20 characters with at least one letter and at least two digits';

describe('Kandy failure paths', () => {
  let t: TestApp;
  let d: SeededDomain;
  let token: string;
  let snapshot: string;

  const state = async (): Promise<string> => {
    const db = t.db.kysely;
    const [users, accounts, domains] = await Promise.all([
      db.selectFrom('domain_users').select(['user_id', 'domain_id']).orderBy('user_id').execute(),
      db.selectFrom('api_accounts').select(['id', 'users_used']).orderBy('id').execute(),
      db.selectFrom('domains').select(['domain_name', 'api_secret_hash']).orderBy('domain_name').execute(),
    ]);
    return JSON.stringify({ users, accounts, domains });
  };
  const expectFailure = async (res: LightMyRequestResponse, http: number, body: unknown) => {
    assert.equal(res.statusCode, http, res.body);
    assert.deepEqual(res.json(), body);
    assert.equal(await state(), snapshot, 'nothing was written');
  };

  before(async () => {
    t = await createTestApp();
    d = await seedDomain(t);
    token = await domainToken(t.app, d);
    assert.equal((await createUser(t.app, token, { user_id: 'bob', user_country_code: '+1' })).statusCode, 200);
  });
  beforeEach(async () => { snapshot = await state(); });
  after(async () => { await t.close(); });

  test('domain access token: missing key, missing secret, wrong secret, unknown key', async () => {
    await expectFailure(await t.app.inject({ url: '/v1.2/domains/accesstokens' }), 400, env(3, 'key: is required'));
    await expectFailure(await t.app.inject({ url: `/v1.2/domains/accesstokens?key=${d.domainKey}` }), 400, env(3, 'domain_api_secret: is required'));
    await expectFailure(await t.app.inject({ url: `/v1.2/domains/accesstokens?key=${d.domainKey}&domain_api_secret=DAS0000` }), 401,
      env(5, 'domain_api_secret: the key and secret do not match'));
    await expectFailure(await t.app.inject({ url: `/v1.2/domains/accesstokens?key=DAK${'0'.repeat(32)}&domain_api_secret=${d.domainSecret}` }), 401,
      env(5, 'domain_api_secret: the key and secret do not match'));
    // The account's key does not open the domain door.
    await expectFailure(await t.app.inject({ url: `/v1.2/domains/accesstokens?key=${d.accountKey}&domain_api_secret=${d.accountSecret}` }), 401,
      env(5, 'domain_api_secret: the key and secret do not match'));
  });

  test('create user: no token, unknown token, a token of another kind', async () => {
    const body = { user_id: 'eve', user_country_code: '+1' };
    await expectFailure(await t.app.inject({ method: 'POST', url: '/v1.2/domains/users/user_id', payload: body }), 401,
      env(3, 'key: send the access token in the key query parameter or as Authorization: Bearer'));
    await expectFailure(await createUser(t.app, `DAT${'0'.repeat(64)}`, body), 401, env(5, 'key: is not a valid domain access token'));
    const userToken = (await t.app.inject({ url: `/v1.2/domains/users/accesstokens?key=${d.domainKey}&domain_api_secret=${d.domainSecret}&user_id=bob` })).json().result.user_access_token;
    await expectFailure(await createUser(t.app, userToken, body), 401, env(5, 'key: is not a valid domain access token'));
    await expectFailure(await t.app.inject({ method: 'POST', url: '/v1.2/domains/users/user_id', headers: { authorization: 'Bearer nonsense' }, payload: body }), 401,
      env(5, 'key: is not a valid domain access token'));
  });

  test('create user: missing fields', async () => {
    await expectFailure(await createUser(t.app, token, { user_country_code: '+1' }), 400, env(3, 'user_id: is required'));
    await expectFailure(await createUser(t.app, token, { user_id: 'eve' }), 400, env(3, 'user_country_code: is required'));
    await expectFailure(await createUser(t.app, token, { user_id: '  ', user_country_code: '+1' }), 400, env(3, 'user_id: is required'));
    await expectFailure(await t.app.inject({ method: 'POST', url: `/v1.2/domains/users/user_id?key=${token}` }), 400, env(3, 'body: is required'));
  });

  test('create user: malformed body, country code, email, user_id', async () => {
    await expectFailure(await createUser(t.app, token, '{"user_id":'), 400, env(4, 'body: is not valid JSON'));
    await expectFailure(await t.app.inject({ method: 'POST', url: `/v1.2/domains/users/user_id?key=${token}`, headers: { 'content-type': 'text/plain' }, payload: 'user_id=eve' }), 415,
      env(4, 'body: send JSON (Content-Type: application/json)'));
    for (const code of ['+1234', '+', '1', 'XX', 'USA', '']) {
      await expectFailure(await createUser(t.app, token, { user_id: 'eve', user_country_code: code }), 400, env(4, COUNTRY));
    }
    await expectFailure(await createUser(t.app, token, { user_id: 'eve', user_country_code: '+1', user_email: 'not-an-email' }), 400, env(4, 'user_email: must be an email address'));
    await expectFailure(await createUser(t.app, token, { user_id: 'eve smith', user_country_code: '+1' }), 400,
      env(4, 'user_id: must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit'));
    await expectFailure(await createUser(t.app, token, { user_id: 'eve', user_country_code: '+1', user_first_name: 'x'.repeat(201) }), 400,
      env(4, 'user_first_name: must NOT have more than 200 characters'));
  });

  test('create user: weak given passwords are refused, never fixed up', async () => {
    for (const pw of ['abc12', 'abcdefgh1', '12345678', 'a1234567890123456789x', 'abc 12']) {
      await expectFailure(await createUser(t.app, token, { user_id: 'eve', user_country_code: '+1', user_password: pw }), 400, env(4, PASSWORD));
    }
  });

  test('create user: a duplicate user_id (in any letter case) is refused clearly', async () => {
    await expectFailure(await createUser(t.app, token, { user_id: 'bob', user_country_code: '+1' }), 409, env(8, 'user_id: "bob" already exists in goofiw.gmail.com'));
    await expectFailure(await createUser(t.app, token, { user_id: 'BOB', user_country_code: 'US' }), 409, env(8, 'user_id: "bob" already exists in goofiw.gmail.com'));
  });

  test('delete user: missing user_id, unknown user; unknown routes', async () => {
    await expectFailure(await t.app.inject({ method: 'DELETE', url: `/v1.2/domains/users?key=${token}` }), 400, env(3, 'user_id: is required'));
    await expectFailure(await t.app.inject({ method: 'DELETE', url: `/v1.2/domains/users?key=${token}&user_id=ghost` }), 404, env(7, 'User not found'));
    await expectFailure(await t.app.inject({ url: `/v1.2/domains/nothing?key=${token}` }), 404, env(7, 'No route for GET /v1.2/domains/nothing'));
  });

  test('user access token: missing user_id, unknown user, wrong secret', async () => {
    const base = `/v1.2/domains/users/accesstokens?key=${d.domainKey}&domain_api_secret=${d.domainSecret}`;
    await expectFailure(await t.app.inject({ url: base }), 400, env(3, 'user_id: is required'));
    await expectFailure(await t.app.inject({ url: `${base}&user_id=ghost` }), 404, env(7, 'User not found'));
    await expectFailure(await t.app.inject({ url: `/v1.2/domains/users/accesstokens?key=${d.domainKey}&domain_api_secret=nope&user_id=bob` }), 401,
      env(5, 'domain_api_secret: the key and secret do not match'));
  });

  test('account level: wrong secret, invalid and duplicate domain names', async () => {
    await expectFailure(await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=${d.accountKey}&account_api_secret=AASbad` }), 401,
      env(5, 'account_api_secret: the key and secret do not match'));
    const accountToken = (await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=${d.accountKey}&account_api_secret=${d.accountSecret}` })).json().result.account_access_token;
    const post = (body: unknown) => t.app.inject({ method: 'POST', url: `/v1.2/accounts/domains?key=${accountToken}`, payload: body as object });
    await expectFailure(await post({ project_name: 'x' }), 400, env(3, 'domain_name: is required'));
    await expectFailure(await post({ domain_name: 'not a domain' }), 400, env(4, 'domain_name: must be a host name such as "example.com"'));
    await expectFailure(await post({ domain_name: 'Goofiw.Gmail.com' }), 409, env(8, 'domain_name: "goofiw.gmail.com" is already taken'));
    await expectFailure(await t.app.inject({ method: 'DELETE', url: `/v1.2/accounts/domains?key=${accountToken}&domain_name=ghost.example.com` }), 404, env(7, 'Domain not found'));
    // A domain token is not an account token.
    await expectFailure(await t.app.inject({ url: `/v1.2/accounts/domains?key=${token}` }), 401, env(5, 'key: is not a valid account access token'));
  });

  test('an expired domain access token is refused with status 6', async () => {
    const fresh = await domainToken(t.app, d);
    t.clock.advance(24 * 3600 * 1000 + 1);
    try {
      await expectFailure(await createUser(t.app, fresh, { user_id: 'eve', user_country_code: '+1' }), 401, env(6, 'key: this access token has expired; request a new one'));
      await expectFailure(await t.app.inject({ url: `/v1.2/domains/users?key=${fresh}` }), 401, env(6, 'key: this access token has expired; request a new one'));
    } finally {
      t.clock.advance(-(24 * 3600 * 1000 + 1));
    }
  });

  test('rotating the project secret revokes its tokens; the old secret stops working', async () => {
    const before = await domainToken(t.app, d);
    const user = await t.db.kysely.selectFrom('users').select('id').where('email', '=', 'goofiw@example.com').executeTakeFirstOrThrow();
    const { apiSecret } = await t.services.domains.rotateDomainSecret(await t.services.accounts.actor(user.id), d.domainId);
    snapshot = await state();
    await expectFailure(await createUser(t.app, before, { user_id: 'eve', user_country_code: '+1' }), 401, env(5, 'key: this access token has been revoked'));
    await expectFailure(await t.app.inject({ url: `/v1.2/domains/accesstokens?key=${d.domainKey}&domain_api_secret=${d.domainSecret}` }), 401,
      env(5, 'domain_api_secret: the key and secret do not match'));
    d.domainSecret = apiSecret;
    token = await domainToken(t.app, d);
    assert.equal((await t.app.inject({ url: `/v1.2/domains/users?key=${token}` })).json().status, 0);
  });

  test('deleting a project revokes its tokens', async () => {
    const accountToken = (await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=${d.accountKey}&account_api_secret=${d.accountSecret}` })).json().result.account_access_token;
    const del = await t.app.inject({ method: 'DELETE', url: `/v1.2/accounts/domains?key=${accountToken}&domain_name=goofiw.gmail.com` });
    assert.deepEqual(del.json(), { result: null, status: 0, message: 'Domain Deleted' });
    snapshot = await state();
    await expectFailure(await createUser(t.app, token, { user_id: 'eve', user_country_code: '+1' }), 401, env(5, 'key: is not a valid domain access token'));
    await expectFailure(await t.app.inject({ url: `/v1.2/domains/accesstokens?key=${d.domainKey}&domain_api_secret=${d.domainSecret}` }), 401,
      env(5, 'domain_api_secret: the key and secret do not match'));
    const left = await t.db.kysely.selectFrom('domain_tokens').select('token_hash').where('kind', '!=', 'account').execute();
    assert.deepEqual(left, []);
  });
});

describe('Kandy account access tokens: failure paths', () => {
  let t: TestApp;
  let d: SeededDomain;
  let snapshot: string;

  // Account tokens and projects are what these requests could write.
  const state = async (): Promise<string> => {
    const db = t.db.kysely;
    const [tokens, domains, accounts] = await Promise.all([
      db.selectFrom('domain_tokens').select(['token_hash', 'revoked_at']).orderBy('token_hash').execute(),
      db.selectFrom('domains').select(['domain_name']).orderBy('domain_name').execute(),
      db.selectFrom('api_accounts').select(['id', 'api_secret_hash', 'plan_id', 'users_used']).orderBy('id').execute(),
    ]);
    return JSON.stringify({ tokens, domains, accounts });
  };
  const expectFailure = async (res: LightMyRequestResponse, http: number, body: unknown) => {
    assert.equal(res.statusCode, http, res.body);
    assert.deepEqual(res.json(), body);
    assert.equal(await state(), snapshot, 'nothing was written');
  };
  const accountToken = async (key: string, secret: string): Promise<string> => {
    const res = await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=${key}&account_api_secret=${secret}` });
    assert.equal(res.statusCode, 200, res.body);
    return res.json().result.account_access_token as string;
  };

  before(async () => {
    t = await createTestApp();
    d = await seedDomain(t, { email: 'account@example.com', domainName: 'account.example.com' });
  });
  beforeEach(async () => { snapshot = await state(); });
  after(async () => { await t.close(); });

  test('a missing key or secret is named, with status 3', async () => {
    await expectFailure(await t.app.inject({ url: '/v1.2/accounts/accesstokens' }), 400, env(3, 'key: is required'));
    await expectFailure(await t.app.inject({ url: `/v1.2/accounts/accesstokens?account_api_secret=${d.accountSecret}` }), 400, env(3, 'key: is required'));
    await expectFailure(await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=${d.accountKey}` }), 400, env(3, 'account_api_secret: is required'));
    await expectFailure(await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=${d.accountKey}&account_api_secret=` }), 400, env(3, 'account_api_secret: is required'));
    await expectFailure(await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=AAK${'0'.repeat(32)}&account_api_secret=${d.accountSecret}` }), 401,
      env(5, 'account_api_secret: the key and secret do not match'));
    // The project's key and secret do not open the account door.
    await expectFailure(await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=${d.domainKey}&account_api_secret=${d.domainSecret}` }), 401,
      env(5, 'account_api_secret: the key and secret do not match'));
  });

  test('an account whose secret was never generated gives no token, whatever secret is sent', async () => {
    const person = new PortalClient(t.app);
    await person.signup('nosecret@example.com', 'No Secret');
    const orgId = await person.createOrg('No Secret Org');
    // The organisation's account is made with it, without a secret.
    const page = await person.get(`/projects?org=${orgId}`);
    assert.match(page.body, /No account secret yet\./);
    const key = /id="account-key">([^<]+)</.exec(page.body)![1]!;
    snapshot = await state();
    const account = await t.db.kysely.selectFrom('api_accounts').select('api_secret_hash').where('org_id', '=', orgId).executeTakeFirstOrThrow();
    assert.equal(account.api_secret_hash, null);
    for (const secret of [`AAS${'0'.repeat(32)}`, d.accountSecret, 'null']) {
      await expectFailure(await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=${key}&account_api_secret=${secret}` }), 401,
        env(5, 'account_api_secret: the key and secret do not match'));
    }
    await expectFailure(await t.app.inject({ method: 'POST', url: '/api/v1/account/access-tokens', payload: { apiKey: key, apiSecret: 'anything' } }), 401,
      { error: { code: 'invalid_credentials', message: 'apiSecret: the key and secret do not match', details: { field: 'apiSecret' } } });
  });

  test('POST /v1.2/accounts/domains without a token: status 3, no project made', async () => {
    const body = { domain_name: 'tokenless.example.com' };
    await expectFailure(await t.app.inject({ method: 'POST', url: '/v1.2/accounts/domains', payload: body }), 401,
      env(3, 'key: send the access token in the key query parameter or as Authorization: Bearer'));
    await expectFailure(await t.app.inject({ method: 'POST', url: '/v1.2/accounts/domains?key=', payload: body }), 401,
      env(3, 'key: send the access token in the key query parameter or as Authorization: Bearer'));
    await expectFailure(await t.app.inject({ method: 'POST', url: `/v1.2/accounts/domains?key=AAT${'0'.repeat(64)}`, payload: body }), 401,
      env(5, 'key: is not a valid account access token'));
    await expectFailure(await t.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { domainName: 'tokenless.example.com' } }), 401,
      { error: { code: 'unauthenticated', message: 'authorization: send the access token as Authorization: Bearer <token>', details: { field: 'authorization' } } });
  });

  test('an expired account token is refused with status 6 and creates nothing', async () => {
    const token = await accountToken(d.accountKey, d.accountSecret);
    snapshot = await state();
    t.clock.advance(24 * 3600 * 1000 + 1);
    try {
      await expectFailure(await t.app.inject({ method: 'POST', url: `/v1.2/accounts/domains?key=${token}`, payload: { domain_name: 'late.example.com' } }), 401,
        env(6, 'key: this access token has expired; request a new one'));
      await expectFailure(await t.app.inject({ url: `/v1.2/accounts/domains?key=${token}` }), 401, env(6, 'key: this access token has expired; request a new one'));
      await expectFailure(await t.app.inject({ method: 'DELETE', url: `/v1.2/accounts/domains?key=${token}&domain_name=account.example.com` }), 401,
        env(6, 'key: this access token has expired; request a new one'));
    } finally {
      t.clock.advance(-(24 * 3600 * 1000 + 1));
    }
    // Within its lifetime the same token works: its age alone was refused.
    assert.equal((await t.app.inject({ url: `/v1.2/accounts/domains?key=${token}` })).json().status, 0);
  });

  test('rotating the account secret revokes account tokens; the old secret stops working', async () => {
    const before = await accountToken(d.accountKey, d.accountSecret);
    const native = await t.app.inject({ method: 'POST', url: '/api/v1/account/access-tokens', payload: { apiKey: d.accountKey, apiSecret: d.accountSecret } });
    assert.equal(native.statusCode, 201);
    const domainTokenBefore = await domainToken(t.app, d);
    await d.person.get(`/projects?org=${d.orgId}`);
    const rotated = await d.person.follow(await d.person.post('/projects/account-secret', { orgId: d.orgId }));
    assert.equal(rotated.statusCode, 200);
    const newSecret = /id="account-secret">([^<]+)</.exec(rotated.body)![1]!;
    snapshot = await state();
    await expectFailure(await t.app.inject({ url: `/v1.2/accounts/domains?key=${before}` }), 401, env(5, 'key: this access token has been revoked'));
    await expectFailure(await t.app.inject({ method: 'POST', url: `/v1.2/accounts/domains?key=${before}`, payload: { domain_name: 'after.example.com' } }), 401,
      env(5, 'key: this access token has been revoked'));
    await expectFailure(await t.app.inject({ url: '/api/v1/projects', headers: { authorization: `Bearer ${native.json().accessToken}` } }), 401,
      { error: { code: 'invalid_token', message: 'authorization: this access token has been revoked', details: { field: 'authorization' } } });
    await expectFailure(await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=${d.accountKey}&account_api_secret=${d.accountSecret}` }), 401,
      env(5, 'account_api_secret: the key and secret do not match'));
    // Project tokens are the project's: the account secret does not revoke them.
    assert.equal((await t.app.inject({ url: `/v1.2/domains/users?key=${domainTokenBefore}` })).json().status, 0);
    const after = await accountToken(d.accountKey, newSecret);
    const list = await t.app.inject({ url: `/v1.2/accounts/domains?key=${after}` });
    assert.deepEqual(list.json().result.domains.map((x: { domain_name: string }) => x.domain_name), ['account.example.com']);
  });
});

// Token requests read the project (or user) and then insert the token; a deletion that commits in
// between leaves the insert pointing at nothing. PostgreSQL lets a test hold that deletion open on
// one connection while the requests run on others, so the interleaving is certain, not lucky.
describe('token requests that race the deletion of their project', { skip: onPostgres() ? false : 'needs a deletion held open on a second connection (PostgreSQL)' }, () => {
  let t: TestApp;
  before(async () => { t = await createTestApp(); });
  after(async () => { await t.close(); });

  const waitingInserts = async (): Promise<number> => {
    const res = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
      where wait_event_type = 'Lock' and query like 'insert into "domain_tokens"%'`.execute(t.db.kysely);
    return res.rows[0]!.n;
  };

  test('are answered as if the project were already gone, never with a 500', async () => {
    const d = await seedDomain(t, { email: 'gone@example.com', domainName: 'gone.example.com' });
    const token = await domainToken(t.app, d);
    const bob = (await createUser(t.app, token, { user_id: 'bob', user_country_code: '+1' })).json().result;
    const pending = await t.db.kysely.transaction().execute(async (trx) => {
      await trx.deleteFrom('domains').where('id', '=', d.domainId).execute();
      // Not yet committed: the requests still find the project and the user, then their inserts
      // wait for this transaction's row lock.
      const requests = [
        t.app.inject({ url: `/v1.2/domains/accesstokens?key=${d.domainKey}&domain_api_secret=${d.domainSecret}` }),
        t.app.inject({ url: `/v1.2/domains/users/accesstokens?key=${d.domainKey}&domain_api_secret=${d.domainSecret}&user_id=bob` }),
        t.app.inject({ url: `/v1.2/domains/users/accesstokens?key=${bob.user_api_key}&user_api_secret=${bob.user_api_secret}` }),
      ];
      const deadline = Date.now() + 10_000;
      while ((await waitingInserts()) < requests.length) {
        assert.ok(Date.now() < deadline, 'the token inserts never waited for the deletion');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return { requests };
    });
    const [domainTk, userTk, userKeyTk] = await Promise.all(pending.requests);
    assert.deepEqual([domainTk!.statusCode, domainTk!.json()], [401, env(5, 'domain_api_secret: the key and secret do not match')]);
    assert.deepEqual([userTk!.statusCode, userTk!.json()], [404, env(7, 'User not found')]);
    assert.deepEqual([userKeyTk!.statusCode, userKeyTk!.json()], [401, env(5, 'user_api_secret: the key and secret do not match')]);
    assert.deepEqual(await t.db.kysely.selectFrom('domain_tokens').select('token_hash').where('kind', '!=', 'account').execute(), []);
  });
});
