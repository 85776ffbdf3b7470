// The plan's user quota: five users on Basic, the sixth refused with the seed's envelope and
// nothing written; exact under 100 simultaneous creates in one process (SQLite or PostgreSQL,
// per DATABASE_URL). The two-process case is in quota-processes.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, domainToken, seedDomain, type SeededDomain } from './setup.js';

const QUOTA_ENVELOPE = {
  result: null,
  status: 1,
  message: 'failed to register user on compass',
  detail: 'user quota reached: the Basic plan allows 5 users per account and all are in use; delete a user or move to a larger plan',
};

async function counts(t: TestApp, orgId: string): Promise<{ rows: number; used: number }> {
  const account = await t.db.kysely.selectFrom('api_accounts').select(['id', 'users_used']).where('org_id', '=', orgId).executeTakeFirstOrThrow();
  const rows = await t.db.kysely.selectFrom('domain_users').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', account.id).executeTakeFirstOrThrow();
  return { rows: Number(rows.n), used: account.users_used };
}

describe('the Basic plan allows five users per account', () => {
  let t: TestApp;
  let d: SeededDomain;
  let token: string;
  before(async () => {
    t = await createTestApp();
    d = await seedDomain(t);
    token = await domainToken(t.app, d);
  });
  after(async () => { await t.close(); });

  test('five users are created and the sixth is refused with status 1, writing nothing', async () => {
    for (const id of ['u1', 'u2', 'u3', 'u4', 'u5']) {
      const res = await createUser(t.app, token, { user_id: id, user_country_code: '+1' });
      assert.equal(res.statusCode, 200, res.body);
    }
    const sixth = await createUser(t.app, token, { user_id: 'u6', user_country_code: '+1' });
    assert.equal(sixth.statusCode, 403);
    assert.deepEqual(sixth.json(), QUOTA_ENVELOPE);
    assert.deepEqual(await counts(t, d.orgId), { rows: 5, used: 5 });
    const list = await t.app.inject({ method: 'GET', url: `/v1.2/domains/users?key=${token}` });
    assert.deepEqual(list.json().result.users.map((u: { user_id: string }) => u.user_id), ['u1', 'u2', 'u3', 'u4', 'u5']);
  });

  test('the quota is per account: a second project of the same organisation is refused too', async () => {
    const user = await t.db.kysely.selectFrom('users').select('id').where('email', '=', 'goofiw@example.com').executeTakeFirstOrThrow();
    const actor = await t.services.accounts.actor(user.id);
    const { domain, apiSecret } = await t.services.domains.createDomainAsActor(actor, d.orgId, { domain_name: 'second.example.com' });
    const token2 = await domainToken(t.app, { domainKey: domain.api_key, domainSecret: apiSecret });
    const res = await createUser(t.app, token2, { user_id: 'u6', user_country_code: 'US' });
    assert.equal(res.statusCode, 403);
    assert.deepEqual(res.json(), QUOTA_ENVELOPE);
    assert.deepEqual(await counts(t, d.orgId), { rows: 5, used: 5 });
  });

  test('the native API refuses the sixth user in its own error format', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/project/users', headers: { authorization: `Bearer ${token}` }, payload: { userId: 'u6', countryCode: '+1' } });
    assert.equal(res.statusCode, 403);
    assert.deepEqual(res.json(), { error: { code: 'quota_exceeded', message: QUOTA_ENVELOPE.detail, details: { plan: 'basic', max_users: 5 } } });
  });

  test('deleting a user frees a slot; raising the plan\'s limit takes effect at once', async () => {
    const del = await t.app.inject({ method: 'DELETE', url: `/v1.2/domains/users?key=${token}&user_id=u5` });
    assert.equal(del.json().status, 0);
    assert.deepEqual(await counts(t, d.orgId), { rows: 4, used: 4 });
    assert.equal((await createUser(t.app, token, { user_id: 'u6', user_country_code: '+1' })).statusCode, 200);
    assert.equal((await createUser(t.app, token, { user_id: 'u7', user_country_code: '+1' })).statusCode, 403);

    await t.services.plans.set({ id: 'basic', maxUsers: 6 });
    assert.equal((await createUser(t.app, token, { user_id: 'u7', user_country_code: '+1' })).statusCode, 200);
    const eighth = await createUser(t.app, token, { user_id: 'u8', user_country_code: '+1' });
    assert.equal(eighth.statusCode, 403);
    assert.equal(eighth.json().detail, 'user quota reached: the Basic plan allows 6 users per account and all are in use; delete a user or move to a larger plan');
  });

  test('deleting a project gives its users\' slots back', async () => {
    const before = await counts(t, d.orgId);
    const accountToken = (await t.app.inject({ method: 'GET', url: `/v1.2/accounts/accesstokens?key=${d.accountKey}&account_api_secret=${d.accountSecret}` })).json().result.account_access_token;
    const res = await t.app.inject({ method: 'DELETE', url: `/v1.2/accounts/domains?key=${accountToken}&domain_name=${d.domainName}` });
    assert.deepEqual(res.json(), { result: null, status: 0, message: 'Domain Deleted' });
    assert.equal(before.used, 6);
    assert.deepEqual(await counts(t, d.orgId), { rows: 0, used: 0 });
  });
});

describe('the quota under concurrency (one process)', () => {
  let t: TestApp;
  before(async () => { t = await createTestApp(); });
  after(async () => { await t.close(); });

  test('100 simultaneous creates against a Basic account end with exactly five users', async () => {
    const d = await seedDomain(t, { email: 'burst@example.com', domainName: 'burst.example.com' });
    const token = await domainToken(t.app, d);
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => createUser(t.app, token, { user_id: `user${i}`, user_country_code: '+1' })));
    const ok = results.filter((r) => r.statusCode === 200);
    const refused = results.filter((r) => r.statusCode === 403);
    assert.equal(ok.length, 5);
    assert.equal(refused.length, 95);
    for (const r of refused) assert.deepEqual(r.json(), QUOTA_ENVELOPE);
    assert.deepEqual(await counts(t, d.orgId), { rows: 5, used: 5 });
  });

  test('simultaneous creates of one user_id make one user and answer the rest with a duplicate error', async () => {
    const d = await seedDomain(t, { email: 'dup@example.com', domainName: 'dup.example.com' });
    const token = await domainToken(t.app, d);
    const results = await Promise.all(Array.from({ length: 10 }, () => createUser(t.app, token, { user_id: 'same', user_country_code: '+1' })));
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1);
    for (const r of results.filter((x) => x.statusCode !== 200)) {
      assert.equal(r.statusCode, 409);
      assert.deepEqual(r.json(), { result: null, status: 8, message: 'user_id: "same" already exists in dup.example.com' });
    }
    assert.deepEqual(await counts(t, d.orgId), { rows: 1, used: 1 });
  });
});

describe('the quota counter when a project is deleted while users are being created', () => {
  let t: TestApp;
  before(async () => { t = await createTestApp(); });
  after(async () => { await t.close(); });

  // A create that lost the race to the deletion answers as any request with the dead project's
  // token does: authenticated before the deletion, or after it.
  const REVOKED = { result: null, status: 5, message: 'key: this access token has been revoked' };
  const UNKNOWN = { result: null, status: 5, message: 'key: is not a valid domain access token' };

  test('creates racing a project deletion end with users_used equal to the users that exist, and no 500', async () => {
    const d = await seedDomain(t, { email: 'race@example.com', domainName: 'stays.example.com' });
    // A large plan, so the race is between the creates and the deletion, not for the last slot.
    await t.services.plans.assign(d.orgId, 'enterprise');
    const staysToken = await domainToken(t.app, d);
    for (const id of ['kept1', 'kept2']) assert.equal((await createUser(t.app, staysToken, { user_id: id, user_country_code: '+1' })).statusCode, 200);
    const accountToken = (await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=${d.accountKey}&account_api_secret=${d.accountSecret}` })).json().result.account_access_token;

    const outcomes = new Map<string, number>();
    // The deletion starts at a different moment of the burst in each round, so it lands before,
    // among and after the creates' transactions.
    for (let round = 0; round < 8; round++) {
      const domainName = `race${round}.example.com`;
      const made = await t.app.inject({ method: 'POST', url: `/v1.2/accounts/domains?key=${accountToken}`, payload: { domain_name: domainName } });
      assert.equal(made.statusCode, 200, made.body);
      const { domain_api_key: domainKey, domain_api_secret: domainSecret } = made.json().result;
      const token = await domainToken(t.app, { domainKey, domainSecret });
      // Given passwords are hashed with scrypt (tens of milliseconds) between authentication and
      // the transaction, so the deletion commits inside that window whatever the scheduling.
      const creates = Array.from({ length: 22 }, (_, i) => createUser(t.app, token, { user_id: `user${i}`, user_country_code: '+1', ...(i < 2 ? { user_password: 'sunny2day9' } : {}) }));
      for (let tick = 0; tick < round * 3; tick++) await new Promise((resolve) => setImmediate(resolve));
      const deletion = await t.app.inject({ method: 'DELETE', url: `/v1.2/accounts/domains?key=${accountToken}&domain_name=${domainName}` });
      assert.deepEqual([deletion.statusCode, deletion.json()], [200, { result: null, status: 0, message: 'Domain Deleted' }]);
      for (const res of await Promise.all(creates)) {
        const body = res.json();
        if (res.statusCode === 200) assert.equal(body.status, 0);
        else assert.ok(res.statusCode === 401 && (isDeepStrictEqual(body, REVOKED) || isDeepStrictEqual(body, UNKNOWN)), `${res.statusCode} ${res.body}`);
        outcomes.set(`${res.statusCode} ${body.message}`, (outcomes.get(`${res.statusCode} ${body.message}`) ?? 0) + 1);
      }
      assert.deepEqual(await counts(t, d.orgId), { rows: 2, used: 2 }, `after round ${round}: ${JSON.stringify([...outcomes])}`);
    }
  });
});
