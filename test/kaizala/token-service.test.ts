// Every failure path of the token service (GET /v1/accessToken) and of access tokens at the
// platform API, with exact statuses and bodies; refresh-token rotation at 90% of its life.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, generateKeyPair } from 'jose';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { accessToken, seedConnectorFlow } from '../helpers/portal.js';

const DAY = 24 * 3600 * 1000;
const err = (code: string, message: string, details?: Record<string, unknown>) => ({ error: { code, message, ...(details ? { details } : {}) } });

describe('the token service', () => {
  let t: TestApp;
  let s: Awaited<ReturnType<typeof seedConnectorFlow>>;
  before(async () => {
    t = await createTestApp();
    s = await seedConnectorFlow(t.app);
  });
  after(async () => { await t.close(); });

  const call = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/v1/accessToken', headers });

  test('names each missing header', async () => {
    const full = { applicationId: s.connector.id, applicationSecret: s.connector.secret, refreshToken: s.refreshToken };
    for (const missing of ['applicationId', 'applicationSecret', 'refreshToken'] as const) {
      const headers: Record<string, string> = { ...full };
      delete headers[missing];
      const res = await call(headers);
      assert.deepEqual([res.statusCode, res.json()], [400, err('validation_failed', `${missing}: is required`, { field: missing })]);
    }
  });

  test('refuses a wrong secret and an unknown connector alike', async () => {
    const wrong = await call({ applicationId: s.connector.id, applicationSecret: 'tcs_wrong', refreshToken: s.refreshToken });
    assert.deepEqual([wrong.statusCode, wrong.json()], [401, err('invalid_credentials', 'applicationId or applicationSecret is not correct')]);
    const unknown = await call({ applicationId: '00000000-0000-4000-8000-000000000000', applicationSecret: s.connector.secret, refreshToken: s.refreshToken });
    assert.deepEqual([unknown.statusCode, unknown.json()], [401, err('invalid_credentials', 'applicationId or applicationSecret is not correct')]);
  });

  test('refuses an unknown refresh token and one granted to another connector', async () => {
    const bogus = await call({ applicationId: s.connector.id, applicationSecret: s.connector.secret, refreshToken: 'trt_nothing' });
    const expected = err('invalid_token', 'refreshToken: is not valid for this connector; ask the group admin for a new one', { field: 'refreshToken' });
    assert.deepEqual([bogus.statusCode, bogus.json()], [401, expected]);
    const other = await s.person.createConnector(s.orgId, 'Other bot', ['groupinfo.read']);
    const cross = await call({ applicationId: other.id, applicationSecret: other.secret, refreshToken: s.refreshToken });
    assert.deepEqual([cross.statusCode, cross.json()], [401, expected]);
  });

  test('answers 429 with Retry-After after repeated wrong secrets', async () => {
    let last;
    for (let i = 0; i < 21; i++) last = await call({ applicationId: s.connector.id, applicationSecret: `tcs_guess${i}`, refreshToken: s.refreshToken });
    assert.deepEqual([last!.statusCode, last!.json()], [429, err('rate_limited', 'Too many failed attempts; try again later')]);
    assert.ok(Number(last!.headers['retry-after']) > 0);
  });
});

describe('refresh token lifetime', () => {
  let t: TestApp;
  let s: Awaited<ReturnType<typeof seedConnectorFlow>>;
  before(async () => {
    t = await createTestApp();
    s = await seedConnectorFlow(t.app);
  });
  after(async () => { await t.close(); });

  test('is rotated once 90% of 365 days have passed; the old one works until it expires', async () => {
    t.clock.advance(328 * DAY);
    const early = await accessToken(t.app, s.connector, s.refreshToken);
    assert.equal(early.json().refreshToken, '');
    t.clock.advance(1 * DAY); // 329 days: past 90% (328.5 days)
    const due = await accessToken(t.app, s.connector, s.refreshToken);
    assert.equal(due.statusCode, 200);
    const rotated = due.json().refreshToken as string;
    assert.match(rotated, /^trt_/);
    const withNew = await accessToken(t.app, s.connector, rotated);
    assert.deepEqual([withNew.statusCode, withNew.json().refreshToken], [200, '']);
    const withOld = await accessToken(t.app, s.connector, s.refreshToken);
    assert.deepEqual([withOld.statusCode, withOld.json().refreshToken], [200, '']);
    t.clock.advance(37 * DAY); // past the old token's 365 days
    const expired = await accessToken(t.app, s.connector, s.refreshToken);
    assert.deepEqual([expired.statusCode, expired.json()], [401, err('token_expired', 'refreshToken: has expired; ask the group admin for a new one', { field: 'refreshToken' })]);
    const stillNew = await accessToken(t.app, s.connector, rotated);
    assert.equal(stillNew.statusCode, 200);
  });

  test('expires after 365 days without use', async () => {
    const fresh = await seedConnectorFlow(t.app, { email: 'second@example.com', phone: '+14155550177', orgName: 'Second' });
    t.clock.advance(366 * DAY);
    const res = await accessToken(t.app, fresh.connector, fresh.refreshToken);
    assert.deepEqual([res.statusCode, res.json()], [401, err('token_expired', 'refreshToken: has expired; ask the group admin for a new one', { field: 'refreshToken' })]);
  });
});

describe('access tokens at the platform API', () => {
  let t: TestApp;
  let s: Awaited<ReturnType<typeof seedConnectorFlow>>;
  let token: string;
  before(async () => {
    t = await createTestApp();
    s = await seedConnectorFlow(t.app);
    token = (await accessToken(t.app, s.connector, s.refreshToken)).json().accessToken;
  });
  after(async () => { await t.close(); });

  const groups = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/v1/groups', headers });

  test('are required', async () => {
    const res = await groups({});
    assert.deepEqual([res.statusCode, res.json()], [401, err('unauthenticated', 'accessToken: send the access token in the accessToken header or as Authorization: Bearer', { field: 'accessToken' })]);
  });

  test('must be valid JWTs signed by Tessera', async () => {
    const invalid = err('invalid_token', 'accessToken: is not a valid access token', { field: 'accessToken' });
    const garbage = await groups({ accessToken: 'not-a-jwt' });
    assert.deepEqual([garbage.statusCode, garbage.json()], [401, invalid]);
    const tampered = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const t2 = await groups({ accessToken: tampered });
    assert.deepEqual([t2.statusCode, t2.json()], [401, invalid]);
    // Same claims, signed by a key Tessera never published.
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ gid: 'x', ggen: 1, cgen: 1, scope: 'groupinfo.read' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'forged' }).setIssuer('http://tessera.test').setAudience('http://tessera.test/v1')
      .setSubject(s.connector.id).setIssuedAt().setExpirationTime('1h').sign(privateKey);
    const t3 = await groups({ accessToken: forged });
    assert.deepEqual([t3.statusCode, t3.json()], [401, invalid]);
  });

  test('expire after 24 hours', async () => {
    t.clock.advance(24 * 3600 * 1000 + 1000);
    const res = await groups({ accessToken: token });
    assert.deepEqual([res.statusCode, res.json()], [401, err('token_expired', 'accessToken: has expired; get a new one from the token service', { field: 'accessToken' })]);
  });
});

