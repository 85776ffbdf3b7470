// The seed's whole flow over HTTP: sign up → phone → PIN from the outbox → organisation and
// group → register connector → grant → access token → post a message and list members → the
// message is on the group page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createTestApp, onPostgres, statementCounts, type TestApp } from '../helpers/app.js';
import { ALL_PERMISSIONS, PortalClient, accessToken } from '../helpers/portal.js';

describe('the connector flow of the Kaizala seed', () => {
  let t: TestApp;
  before(async () => { t = await createTestApp(); });
  after(async () => { await t.close(); });

  test('a developer and a group admin take a connector from registration to a posted message', async () => {
    // Developer: account, verified phone, organisation, group, connector.
    const dev = new PortalClient(t.app);
    await dev.signup('dev@contoso.example', 'Dana Developer');
    await dev.verifyPhone('+1 415 555 0123');
    const phones = await dev.get('/phones');
    assert.match(phones.body, /\+14155550123<\/td><td><span class="tag ok">verified<\/span>/);
    const orgId = await dev.createOrg('Contoso');
    const groupId = await dev.createGroup(orgId, 'Field team');
    const connector = await dev.createConnector(orgId, 'Inventory bot', ALL_PERMISSIONS);
    assert.match(connector.id, /^[0-9a-f-]{36}$/);
    assert.match(connector.secret, /^tcs_[A-Za-z0-9_-]{43}$/);

    // Group admin: a second person whose verified phone is an admin of the group.
    const admin = new PortalClient(t.app);
    await admin.signup('admin@contoso.example', 'Avery Admin');
    await admin.verifyPhone('+1 415 555 0199');
    const addAdmin = await dev.post(`/groups/${groupId}/members`, { phone: '+14155550199', role: 'admin' });
    assert.equal(addAdmin.statusCode, 303);
    const groupsOfAdmin = await admin.get('/groups');
    assert.match(groupsOfAdmin.body, new RegExp(`<a href="/groups/${groupId}">Field team</a>`));
    const refreshToken = await admin.grant(groupId, connector.id);
    assert.match(refreshToken, /^trt_[A-Za-z0-9_-]{43}$/);

    // Developer: token service, then the platform API.
    const tokenRes = await accessToken(t.app, connector, refreshToken);
    assert.equal(tokenRes.statusCode, 200);
    assert.equal(tokenRes.headers['cache-control'], 'no-store');
    const body = tokenRes.json();
    assert.deepEqual(Object.keys(body).sort(), ['accessToken', 'accessTokenExpiry', 'endpointUrl', 'refreshToken', 'scope']);
    assert.equal(body.endpointUrl, 'http://tessera.test/');
    assert.equal(body.refreshToken, '');
    assert.equal(body.scope, ALL_PERMISSIONS.join(','));
    assert.ok(Math.abs(body.accessTokenExpiry - (t.clock.now() + 24 * 3600 * 1000)) < 5000);

    // The access token is an RFC 9068 JWT verifiable with the published JWKS.
    const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    const { payload, protectedHeader } = await jwtVerify(body.accessToken, createLocalJWKSet(jwks), { issuer: 'http://tessera.test', audience: 'http://tessera.test/v1' });
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.client_id, connector.id);
    assert.equal(payload.sub, connector.id);
    assert.equal(payload.grp, groupId);

    const auth = { accessToken: body.accessToken };
    const post = await t.app.inject({ method: 'POST', url: `/v1/groups/${groupId}/messages`, headers: auth, payload: { message: 'Stock check at 9:00 <b>sharp</b>' } });
    assert.equal(post.statusCode, 201);
    const referenceId = post.json().referenceId as string;
    assert.deepEqual(post.json(), { referenceId });

    const members = await t.app.inject({ method: 'GET', url: `/v1/groups/${groupId}/members`, headers: auth });
    assert.equal(members.statusCode, 200);
    assert.deepEqual(members.json().members.map((m: { mobileNumber: string; role: string; isProvisioned: boolean }) => [m.mobileNumber, m.role, m.isProvisioned]),
      [['+14155550123', 'Admin', true], ['+14155550199', 'Admin', true]]);

    const groups = await t.app.inject({ method: 'GET', url: '/v1/groups', headers: { authorization: `Bearer ${body.accessToken}` } });
    assert.equal(groups.statusCode, 200);
    assert.deepEqual(groups.json(), { groups: [{
      groupId, groupName: 'Field team', groupImageUrl: '', hasSubGroups: false, hasParentGroups: false, groupType: 'Group', userCount: 2, callerRole: 'Connector',
    }] });

    // A person sees what the connector did, escaped, on the group page.
    const page = await admin.get(`/groups/${groupId}`);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<b>Inventory bot<\/b><span class="tag">connector<\/span>/);
    assert.match(page.body, /Stock check at 9:00 &lt;b&gt;sharp&lt;\/b&gt;/);
  });
});

describe('the platform API', () => {
  let t: TestApp;
  let groupId: string;
  let auth: Record<string, string>;
  before(async () => {
    t = await createTestApp();
    const dev = new PortalClient(t.app);
    await dev.signup('dev@example.com');
    await dev.verifyPhone('+14155550123');
    const orgId = await dev.createOrg('Org');
    groupId = await dev.createGroup(orgId, 'Team');
    const connector = await dev.createConnector(orgId, 'Bot', ALL_PERMISSIONS);
    const rt = await dev.grant(groupId, connector.id);
    auth = { accessToken: (await accessToken(t.app, connector, rt)).json().accessToken };
  });
  after(async () => { await t.close(); });

  test('adds members, skipping numbers already present, and lists them as not provisioned', async () => {
    const put = await t.app.inject({ method: 'PUT', url: `/v1/groups/${groupId}/members`, headers: auth, payload: { members: ['+14155550111', '+1 415 555 0111', '+14155550123'] } });
    assert.equal(put.statusCode, 200);
    assert.deepEqual(put.json(), { result: true, membersAdded: 1 });
    const list = (await t.app.inject({ method: 'GET', url: `/v1/groups/${groupId}/members`, headers: auth })).json().members;
    const added = list.find((m: { mobileNumber: string }) => m.mobileNumber === '+14155550111');
    assert.deepEqual(added, { id: added.id, role: 'Member', mobileNumber: '+14155550111', isProvisioned: false });

    const del = await t.app.inject({ method: 'DELETE', url: `/v1/groups/${groupId}/members/${added.id}`, headers: auth });
    assert.deepEqual([del.statusCode, del.json()], [200, { result: true }]);
    const again = await t.app.inject({ method: 'DELETE', url: `/v1/groups/${groupId}/members/${added.id}`, headers: auth });
    assert.deepEqual([again.statusCode, again.json()], [404, { error: { code: 'not_found', message: 'Member not found' } }]);
  });

  test('refuses a malformed phone number naming the field, and writes nothing', async () => {
    const before = (await t.app.inject({ method: 'GET', url: `/v1/groups/${groupId}/members`, headers: auth })).json().members.length;
    const put = await t.app.inject({ method: 'PUT', url: `/v1/groups/${groupId}/members`, headers: auth, payload: { members: ['+14155550112', 'not a number'] } });
    assert.equal(put.statusCode, 400);
    assert.deepEqual(put.json(), { error: { code: 'invalid_phone_number', message: 'members[1]: "not a number" is not a valid phone number; use international form such as +14155550123', details: { field: 'members[1]' } } });
    const after_ = (await t.app.inject({ method: 'GET', url: `/v1/groups/${groupId}/members`, headers: auth })).json().members.length;
    assert.equal(after_, before);
  });

  test('one malformed number is named members[0], as the body names it', async () => {
    const put = await t.app.inject({ method: 'PUT', url: `/v1/groups/${groupId}/members`, headers: auth, payload: { members: ['not a phone'] } });
    assert.deepEqual([put.statusCode, put.json()], [400, {
      error: { code: 'invalid_phone_number', message: 'members[0]: "not a phone" is not a valid phone number; use international form such as +14155550123', details: { field: 'members[0]' } },
    }]);
  });

  test('a subgroup with a malformed member number is refused and not created', async () => {
    const groupsBefore = await t.db.kysely.selectFrom('groups').select('id').execute();
    const membersBefore = await t.db.kysely.selectFrom('group_members').select('id').execute();
    for (const members of [['not a phone'], ['+14155550151', 'not a phone']]) {
      const res = await t.app.inject({ method: 'POST', url: `/v1/groups/${groupId}/subGroups`, headers: auth, payload: { name: 'Ghost', members } });
      const i = members.length - 1;
      assert.deepEqual([res.statusCode, res.json()], [400, {
        error: { code: 'invalid_phone_number', message: `members[${i}]: "not a phone" is not a valid phone number; use international form such as +14155550123`, details: { field: `members[${i}]` } },
      }]);
    }
    const list = await t.app.inject({ method: 'GET', url: `/v1/groups/${groupId}/subGroups`, headers: auth });
    assert.ok(!list.json().groups.some((g: { groupName: string }) => g.groupName === 'Ghost'), 'no Ghost subgroup is listed');
    assert.equal((await t.db.kysely.selectFrom('groups').select('id').execute()).length, groupsBefore.length);
    assert.equal((await t.db.kysely.selectFrom('group_members').select('id').execute()).length, membersBefore.length);
  });

  test('creates subgroups inside the granted group and lists them', async () => {
    const res = await t.app.inject({ method: 'POST', url: `/v1/groups/${groupId}/subGroups`, headers: auth, payload: { name: 'Night shift', members: ['+14155550150'] } });
    assert.equal(res.statusCode, 201);
    const sub = res.json();
    assert.deepEqual(sub, { groupName: 'Night shift', groupId: sub.groupId, membersAdded: 1 });
    const list = await t.app.inject({ method: 'GET', url: `/v1/groups/${groupId}/subGroups`, headers: auth });
    assert.deepEqual(list.json().groups.map((g: { groupName: string; hasParentGroups: boolean }) => [g.groupName, g.hasParentGroups]), [['Night shift', true]]);
    // The subgroup is within the grant: the connector can post there.
    const post = await t.app.inject({ method: 'POST', url: `/v1/groups/${sub.groupId}/messages`, headers: auth, payload: { message: 'hi night shift' } });
    assert.equal(post.statusCode, 201);
  });

  test('pages through messages newest first with a cursor', async () => {
    for (let i = 1; i <= 5; i++) {
      const r = await t.app.inject({ method: 'POST', url: `/v1/groups/${groupId}/messages`, headers: auth, payload: { message: `m${i}` } });
      assert.equal(r.statusCode, 201);
    }
    const first = (await t.app.inject({ method: 'GET', url: `/v1/groups/${groupId}/messages?limit=2`, headers: auth })).json();
    assert.deepEqual(first.messages.map((m: { message: string }) => m.message), ['m5', 'm4']);
    assert.equal(first.messages[0].senderType, 'connector');
    assert.equal(first.messages[0].senderName, 'Bot');
    const second = (await t.app.inject({ method: 'GET', url: `/v1/groups/${groupId}/messages?limit=2&cursor=${first.nextCursor}`, headers: auth })).json();
    assert.deepEqual(second.messages.map((m: { message: string }) => m.message), ['m3', 'm2']);
    const third = (await t.app.inject({ method: 'GET', url: `/v1/groups/${groupId}/messages?limit=2&cursor=${second.nextCursor}`, headers: auth })).json();
    assert.deepEqual([third.messages.map((m: { message: string }) => m.message), third.nextCursor], [['m1'], null]);
  });

  test('messages posted together are each stored as answered: one transaction on SQLite, one statement on PostgreSQL', async () => {
    const inserts = async () => (await statementCounts(t))('insert');
    const texts = Array.from({ length: 8 }, (_, i) => `together ${i}`);
    const before = await inserts();
    const posted = await Promise.all(texts.map((message) => t.app.inject({ method: 'POST', url: `/v1/groups/${groupId}/messages`, headers: auth, payload: { message } })));
    assert.deepEqual(posted.map((r) => r.statusCode), texts.map(() => 201));
    // SQLite's eight inserts commit in one transaction (test/db/group-commit.test.ts).
    assert.equal(await inserts() - before, onPostgres() ? 1 : 8);
    const ids = posted.map((r) => r.json().referenceId as string);
    const stored = await t.db.kysely.selectFrom('messages').select(['id', 'text']).where('id', 'in', ids).orderBy('id').execute();
    assert.deepEqual(stored.map((m) => [m.id, m.text]), posted.map((r, i) => [r.json().referenceId, texts[i]]).sort(([a], [b]) => (a! < b! ? -1 : 1)));
  });

  test('validates message bodies: empty, too long, unknown fields', async () => {
    const cases: [unknown, number, unknown][] = [
      [{}, 400, { error: { code: 'validation_failed', message: 'message: is required', details: { field: 'message' } } }],
      [{ message: '' }, 400, { error: { code: 'validation_failed', message: 'message: must NOT have fewer than 1 characters', details: { field: 'message' } } }],
      [{ message: 'x'.repeat(4001) }, 400, { error: { code: 'validation_failed', message: 'message: must NOT have more than 4000 characters', details: { field: 'message' } } }],
      [{ message: 'hi', colour: 'red' }, 400, { error: { code: 'validation_failed', message: 'colour: is not an accepted field', details: { field: 'colour' } } }],
      [{ message: '   ' }, 400, { error: { code: 'validation_failed', message: 'message: must not be empty', details: { field: 'message' } } }],
    ];
    for (const [payload, status, body] of cases) {
      const res = await t.app.inject({ method: 'POST', url: `/v1/groups/${groupId}/messages`, headers: auth, payload: payload as object });
      assert.deepEqual([res.statusCode, res.json()], [status, body], JSON.stringify(payload).slice(0, 60));
    }
    const bad = await t.app.inject({ method: 'POST', url: `/v1/groups/${groupId}/messages`, headers: { ...auth, 'content-type': 'application/json' }, payload: '{"message":' });
    assert.deepEqual([bad.statusCode, bad.json()], [400, { error: { code: 'validation_failed', message: 'body: is not valid JSON', details: { field: 'body' } } }]);
  });
});
