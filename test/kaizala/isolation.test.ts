// Isolation: a token for group A gets nothing of group B or of another organisation; a
// connector without a permission cannot use it; a revoked grant, a replaced refresh token, a
// deleted connector or a rotated secret is refused by the token service and its access tokens
// stop working at once. People see only their own organisations' things in the portal.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { ALL_PERMISSIONS, PortalClient, accessToken, seedConnectorFlow } from '../helpers/portal.js';

const err = (code: string, message: string, details?: Record<string, unknown>) => ({ error: { code, message, ...(details ? { details } : {}) } });
const GROUP_NOT_FOUND = err('not_found', 'Group not found');
const REVOKED = err('invalid_token', 'accessToken: has been revoked', { field: 'accessToken' });

describe('tenant and group isolation at the platform API', () => {
  let t: TestApp;
  let a: Awaited<ReturnType<typeof seedConnectorFlow>>;
  let b: Awaited<ReturnType<typeof seedConnectorFlow>>;
  let siblingId: string;
  let auth: Record<string, string>;
  before(async () => {
    t = await createTestApp();
    a = await seedConnectorFlow(t.app, { email: 'a@example.com', phone: '+14155550101', orgName: 'Org A', groupName: 'A1' });
    b = await seedConnectorFlow(t.app, { email: 'b@example.com', phone: '+14155550102', orgName: 'Org B', groupName: 'B1' });
    siblingId = await a.person.createGroup(a.orgId, 'A2');
    auth = { accessToken: (await accessToken(t.app, a.connector, a.refreshToken)).json().accessToken };
  });
  after(async () => { await t.close(); });

  test('another group of the same organisation does not exist for the token', async () => {
    for (const [method, url, payload] of [
      ['GET', `/v1/groups/${siblingId}`], ['GET', `/v1/groups/${siblingId}/members`], ['GET', `/v1/groups/${siblingId}/messages`],
      ['GET', `/v1/groups/${siblingId}/subGroups`], ['POST', `/v1/groups/${siblingId}/messages`, { message: 'x' }],
      ['PUT', `/v1/groups/${siblingId}/members`, { members: ['+14155550190'] }], ['POST', `/v1/groups/${siblingId}/subGroups`, { name: 'x' }],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: auth, ...(payload ? { payload } : {}) });
      assert.deepEqual([res.statusCode, res.json()], [404, GROUP_NOT_FOUND], `${method} ${url}`);
    }
  });

  test("another organisation's group does not exist for the token", async () => {
    for (const url of [`/v1/groups/${b.groupId}`, `/v1/groups/${b.groupId}/members`, `/v1/groups/${b.groupId}/messages`]) {
      const res = await t.app.inject({ method: 'GET', url, headers: auth });
      assert.deepEqual([res.statusCode, res.json()], [404, GROUP_NOT_FOUND], url);
    }
    const post = await t.app.inject({ method: 'POST', url: `/v1/groups/${b.groupId}/messages`, headers: auth, payload: { message: 'intrusion' } });
    assert.deepEqual([post.statusCode, post.json()], [404, GROUP_NOT_FOUND]);
    const page = await b.person.get(`/groups/${b.groupId}`);
    assert.doesNotMatch(page.body, /intrusion/);
  });

  test('a connector without a permission is refused with 403 naming it', async () => {
    const reader = await a.person.createConnector(a.orgId, 'Reader', ['groupinfo.read', 'groupmember.read']);
    const rt = await a.person.grant(a.groupId, reader.id);
    const h = { accessToken: (await accessToken(t.app, reader, rt)).json().accessToken };
    const cases: [string, string, object | undefined, string][] = [
      ['POST', `/v1/groups/${a.groupId}/messages`, { message: 'x' }, 'textmessage.write'],
      ['GET', `/v1/groups/${a.groupId}/messages`, undefined, 'textmessage.read'],
      ['PUT', `/v1/groups/${a.groupId}/members`, { members: ['+14155550190'] }, 'groupmember.write'],
      ['DELETE', `/v1/groups/${a.groupId}/members/00000000-0000-4000-8000-000000000000`, undefined, 'groupmember.remove'],
      ['POST', `/v1/groups/${a.groupId}/subGroups`, { name: 'x' }, 'groupinfo.write'],
    ];
    for (const [method, url, payload, permission] of cases) {
      const res = await t.app.inject({ method: method as 'GET', url, headers: h, ...(payload ? { payload } : {}) });
      assert.deepEqual([res.statusCode, res.json()], [403, err('insufficient_permission', `This connector lacks the ${permission} permission`, { permission })], `${method} ${url}`);
    }
    const ok = await t.app.inject({ method: 'GET', url: `/v1/groups/${a.groupId}/members`, headers: h });
    assert.equal(ok.statusCode, 200);
    // Even a permitted call to a group outside the grant answers 404, not 403.
    const outside = await t.app.inject({ method: 'GET', url: `/v1/groups/${b.groupId}/members`, headers: h });
    assert.deepEqual([outside.statusCode, outside.json()], [404, GROUP_NOT_FOUND]);
  });
});

describe('revocation stops tokens at once', () => {
  let t: TestApp;
  before(async () => { t = await createTestApp(); });
  after(async () => { await t.close(); });

  async function setup(n: number) {
    const s = await seedConnectorFlow(t.app, { email: `r${n}@example.com`, phone: `+1415555020${n}`, orgName: `Org ${n}` });
    const at = (await accessToken(t.app, s.connector, s.refreshToken)).json().accessToken as string;
    const members = () => t.app.inject({ method: 'GET', url: `/v1/groups/${s.groupId}/members`, headers: { accessToken: at } });
    assert.equal((await members()).statusCode, 200);
    return { ...s, at, members };
  }

  test('a revoked grant', async () => {
    const s = await setup(1);
    const page = await s.person.get(`/groups/${s.groupId}`);
    const grantId = new RegExp(`/groups/${s.groupId}/connectors/([0-9a-f-]{36})/revoke`).exec(page.body)![1]!;
    const revoke = await s.person.post(`/groups/${s.groupId}/connectors/${grantId}/revoke`, {});
    assert.equal(revoke.statusCode, 303);
    const res = await s.members();
    assert.deepEqual([res.statusCode, res.json()], [401, REVOKED]);
    const again = await accessToken(t.app, s.connector, s.refreshToken);
    assert.deepEqual([again.statusCode, again.json().error.code], [401, 'invalid_token']);
    const after_ = await s.person.get(`/groups/${s.groupId}`);
    assert.match(after_.body, /No connector has access to this group\./);
  });

  test('a new refresh token for the same connector and group', async () => {
    const s = await setup(2);
    const fresh = await s.person.grant(s.groupId, s.connector.id);
    assert.notEqual(fresh, s.refreshToken);
    const old = await accessToken(t.app, s.connector, s.refreshToken);
    assert.deepEqual([old.statusCode, old.json().error.code], [401, 'invalid_token']);
    assert.deepEqual([(await s.members()).statusCode, (await s.members()).json()], [401, REVOKED]);
    assert.equal((await accessToken(t.app, s.connector, fresh)).statusCode, 200);
  });

  test('a deleted connector', async () => {
    const s = await setup(3);
    const del = await s.person.post(`/connectors/${s.connector.id}/delete`, {});
    assert.equal(del.statusCode, 303);
    const res = await s.members();
    assert.deepEqual([res.statusCode, res.json()], [401, REVOKED]);
    const token = await accessToken(t.app, s.connector, s.refreshToken);
    assert.deepEqual([token.statusCode, token.json()], [401, err('invalid_credentials', 'applicationId or applicationSecret is not correct')]);
  });

  test('a rotated secret', async () => {
    const s = await setup(4);
    await s.person.get(`/connectors/${s.connector.id}`);
    const rotate = await s.person.follow(await s.person.post(`/connectors/${s.connector.id}/rotate`, {}));
    assert.equal(rotate.statusCode, 200);
    const secret = /id="connector-secret">([^<]+)</.exec(rotate.body)![1]!;
    assert.notEqual(secret, s.connector.secret);
    const res = await s.members();
    assert.deepEqual([res.statusCode, res.json()], [401, REVOKED]);
    const old = await accessToken(t.app, s.connector, s.refreshToken);
    assert.deepEqual([old.statusCode, old.json()], [401, err('invalid_credentials', 'applicationId or applicationSecret is not correct')]);
    const withNew = await accessToken(t.app, { id: s.connector.id, secret }, s.refreshToken);
    assert.equal(withNew.statusCode, 200);
  });
});

describe('tenant isolation in the portal', () => {
  let t: TestApp;
  before(async () => { t = await createTestApp(); });
  after(async () => { await t.close(); });

  test("a person cannot see or act on another organisation's organisation, groups and connectors", async () => {
    const a = await seedConnectorFlow(t.app, { email: 'owner-a@example.com', phone: '+14155550301' });
    const outsider = new PortalClient(t.app);
    await outsider.signup('outsider@example.com');
    await outsider.verifyPhone('+14155550302');
    for (const url of [`/orgs/${a.orgId}`, `/groups/${a.groupId}`, `/connectors/${a.connector.id}`]) {
      const res = await outsider.get(url);
      assert.equal(res.statusCode, 404, url);
      assert.match(res.body, /<h1>Not found<\/h1>/);
    }
    const grant = await outsider.post(`/groups/${a.groupId}/connectors`, { connectorIdManual: a.connector.id });
    assert.equal(grant.statusCode, 404);
    const rotate = await outsider.post(`/connectors/${a.connector.id}/rotate`, {});
    assert.equal(rotate.statusCode, 404);
    const list = await outsider.get('/connectors');
    assert.doesNotMatch(list.body, new RegExp(a.connector.id));
    // A plain member of the organisation sees its groups but cannot grant or manage connectors.
    await a.person.post(`/orgs/${a.orgId}/members`, { email: 'outsider@example.com', role: 'member' });
    assert.equal((await outsider.get(`/groups/${a.groupId}`)).statusCode, 200);
    const grant2 = await outsider.post(`/groups/${a.groupId}/connectors`, { connectorIdManual: a.connector.id });
    assert.equal(grant2.statusCode, 403);
    assert.match(grant2.body, /Only group admins and organisation admins may do this/);
    const create = await outsider.post('/connectors', { orgId: a.orgId, name: 'Sneaky', permissions: ALL_PERMISSIONS });
    assert.equal(create.statusCode, 403);
  });
});
