// Tenant isolation: one organisation's tokens never see or touch another's domains and users,
// on the Kandy surface and on the native API. And the native API's own flow and errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, domainToken, seedDomain, type SeededDomain } from './setup.js';

describe('one organisation never sees another\'s domains or users', () => {
  let t: TestApp;
  let a: SeededDomain;
  let b: SeededDomain;
  let tokenA: string;
  let tokenB: string;
  const accountToken = async (d: SeededDomain) =>
    (await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=${d.accountKey}&account_api_secret=${d.accountSecret}` })).json().result.account_access_token as string;

  before(async () => {
    t = await createTestApp();
    a = await seedDomain(t, { email: 'a@example.com', orgName: 'Alpha', domainName: 'alpha.example.com' });
    b = await seedDomain(t, { email: 'b@example.com', orgName: 'Beta', domainName: 'beta.example.com' });
    tokenA = await domainToken(t.app, a);
    tokenB = await domainToken(t.app, b);
    assert.equal((await createUser(t.app, tokenA, { user_id: 'shared', user_country_code: '+1' })).statusCode, 200);
    assert.equal((await createUser(t.app, tokenA, { user_id: 'only-a', user_country_code: '+1' })).statusCode, 200);
    assert.equal((await createUser(t.app, tokenB, { user_id: 'shared', user_country_code: '+44' })).statusCode, 200);
  });
  after(async () => { await t.close(); });

  test('a user_id is per domain: both have "shared", each with its own full_user_id', async () => {
    const listA = (await t.app.inject({ url: `/v1.2/domains/users?key=${tokenA}` })).json().result.users;
    const listB = (await t.app.inject({ url: `/v1.2/domains/users?key=${tokenB}` })).json().result.users;
    assert.deepEqual(listA.map((u: { full_user_id: string }) => u.full_user_id), ['shared@alpha.example.com', 'only-a@alpha.example.com']);
    assert.deepEqual(listB.map((u: { full_user_id: string }) => u.full_user_id), ['shared@beta.example.com']);
  });

  test('B\'s domain token cannot delete A\'s users', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: `/v1.2/domains/users?key=${tokenB}&user_id=only-a` });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { result: null, status: 7, message: 'User not found' });
    const del = await t.app.inject({ method: 'DELETE', url: `/v1.2/domains/users?key=${tokenB}&user_id=shared` });
    assert.equal(del.json().status, 0);
    const listA = (await t.app.inject({ url: `/v1.2/domains/users?key=${tokenA}` })).json().result.users;
    assert.equal(listA.length, 2, 'A\'s "shared" is still there');
  });

  test('B\'s domain key with A\'s secret (and the reverse) gets nothing', async () => {
    const res = await t.app.inject({ url: `/v1.2/domains/accesstokens?key=${b.domainKey}&domain_api_secret=${a.domainSecret}` });
    assert.equal(res.statusCode, 401);
    const userToken = await t.app.inject({ url: `/v1.2/domains/users/accesstokens?key=${b.domainKey}&domain_api_secret=${b.domainSecret}&user_id=only-a` });
    assert.equal(userToken.statusCode, 404);
  });

  test('B\'s account token lists only B\'s domains and cannot delete A\'s', async () => {
    const tb = await accountToken(b);
    const list = (await t.app.inject({ url: `/v1.2/accounts/domains?key=${tb}` })).json();
    assert.deepEqual(list.result.domains.map((x: { domain_name: string }) => x.domain_name), ['beta.example.com']);
    const del = await t.app.inject({ method: 'DELETE', url: `/v1.2/accounts/domains?key=${tb}&domain_name=alpha.example.com` });
    assert.equal(del.statusCode, 404);
    assert.deepEqual(del.json(), { result: null, status: 7, message: 'Domain not found' });
    const native = await t.app.inject({ method: 'DELETE', url: `/api/v1/projects/${a.domainId}`, headers: { authorization: `Bearer ${tb}` } });
    assert.equal(native.statusCode, 404);
    assert.deepEqual(native.json(), { error: { code: 'not_found', message: 'Domain not found' } });
  });

  test('B\'s person cannot open A\'s project page in the portal', async () => {
    const res = await b.person.get(`/projects/${a.domainId}`);
    assert.equal(res.statusCode, 404);
    assert.doesNotMatch(res.body, /alpha\.example\.com/);
  });
});

describe('the native REST API', () => {
  let t: TestApp;
  let d: SeededDomain;
  before(async () => {
    t = await createTestApp();
    d = await seedDomain(t, { email: 'native@example.com', domainName: 'native.example.com' });
  });
  after(async () => { await t.close(); });

  test('account token → create project → project token → users, usage, user token, delete', async () => {
    const at = await t.app.inject({ method: 'POST', url: '/api/v1/account/access-tokens', payload: { apiKey: d.accountKey, apiSecret: d.accountSecret } });
    assert.equal(at.statusCode, 201);
    assert.equal(at.json().tokenType, 'Bearer');
    const acct = { authorization: `Bearer ${at.json().accessToken}` };
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/projects', headers: acct, payload: { domainName: 'apps.native.example.com', projectName: 'Apps' } });
    assert.equal(created.statusCode, 201);
    const p = created.json();
    assert.deepEqual(Object.keys(p).sort(), ['apiKey', 'apiSecret', 'createdAt', 'domainName', 'id', 'projectName', 'users']);
    const projects = (await t.app.inject({ url: '/api/v1/projects', headers: acct })).json().projects;
    assert.deepEqual(projects.map((x: { domainName: string }) => x.domainName), ['native.example.com', 'apps.native.example.com']);
    assert.doesNotMatch(JSON.stringify(projects), /apiSecret|DAS/);

    const pt = await t.app.inject({ method: 'POST', url: '/api/v1/project/access-tokens', payload: { apiKey: p.apiKey, apiSecret: p.apiSecret } });
    assert.equal(pt.statusCode, 201);
    const proj = { authorization: `Bearer ${pt.json().accessToken}` };
    const u = await t.app.inject({ method: 'POST', url: '/api/v1/project/users', headers: proj, payload: { userId: 'dana', countryCode: 'US', email: 'dana@example.com' } });
    assert.equal(u.statusCode, 201);
    assert.equal(u.json().fullUserId, 'dana@apps.native.example.com');
    assert.match(u.json().apiSecret, /^UAS/);
    const users = (await t.app.inject({ url: '/api/v1/project/users', headers: proj })).json().users;
    assert.deepEqual(users.map((x: { userId: string; email: string }) => [x.userId, x.email]), [['dana', 'dana@example.com']]);
    assert.deepEqual((await t.app.inject({ url: '/api/v1/project/usage', headers: proj })).json(), { plan: 'Basic', usersUsed: 1, usersLimit: 5 });
    const ut = await t.app.inject({ method: 'POST', url: '/api/v1/project/users/dana/access-tokens', headers: proj });
    assert.equal(ut.statusCode, 201);
    assert.match(ut.json().accessToken, /^UAT/);
    assert.equal((await t.app.inject({ method: 'DELETE', url: '/api/v1/project/users/dana', headers: proj })).statusCode, 204);

    // Rotating through the native API revokes the project's tokens.
    const rot = await t.app.inject({ method: 'POST', url: `/api/v1/projects/${p.id}/secret`, headers: acct });
    assert.equal(rot.statusCode, 200);
    const stale = await t.app.inject({ url: '/api/v1/project/users', headers: proj });
    assert.equal(stale.statusCode, 401);
    assert.deepEqual(stale.json(), { error: { code: 'invalid_token', message: 'authorization: this access token has been revoked', details: { field: 'authorization' } } });
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/projects/${p.id}`, headers: acct })).statusCode, 204);
  });

  test('native errors use Tessera\'s format and native field names', async () => {
    const pt = await t.app.inject({ method: 'POST', url: '/api/v1/project/access-tokens', payload: { apiKey: d.domainKey, apiSecret: d.domainSecret } });
    const proj = { authorization: `Bearer ${pt.json().accessToken}` };
    const bad = await t.app.inject({ method: 'POST', url: '/api/v1/project/users', headers: proj, payload: { userId: 'x', countryCode: 'XX' } });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json(), { error: { code: 'validation_failed', message: 'countryCode: must be a calling code such as "+1" or a two-letter country code such as "US"', details: { field: 'countryCode' } } });
    const missing = await t.app.inject({ method: 'POST', url: '/api/v1/project/users', headers: proj, payload: { userId: 'x' } });
    assert.deepEqual(missing.json(), { error: { code: 'validation_failed', message: 'countryCode: is required', details: { field: 'countryCode' } } });
    const extra = await t.app.inject({ method: 'POST', url: '/api/v1/project/users', headers: proj, payload: { userId: 'x', countryCode: '+1', admin: true } });
    assert.deepEqual(extra.json(), { error: { code: 'validation_failed', message: 'admin: is not an accepted field', details: { field: 'admin' } } });
    const noToken = await t.app.inject({ url: '/api/v1/project/users' });
    assert.equal(noToken.statusCode, 401);
    assert.deepEqual(noToken.json(), { error: { code: 'unauthenticated', message: 'authorization: send the access token as Authorization: Bearer <token>', details: { field: 'authorization' } } });
    // Tokens in URLs are a Kandy compatibility feature only.
    const inUrl = await t.app.inject({ url: `/api/v1/project/users?key=${pt.json().accessToken}` });
    assert.equal(inUrl.statusCode, 401);
  });
});
