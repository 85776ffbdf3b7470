// Safe retries: the POST endpoints that create things take an Idempotency-Key. The same key and
// body within 24 hours answer the first answer again (Idempotent-Replayed: true) without a second
// write, also when the requests race and when they reach different instances; the same key with
// another body is 422 in the surface's shape; a malformed key is 400; answers are stored encrypted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, onPostgres, type TestApp } from '../helpers/app.js';
import { ALL_PERMISSIONS, accessToken, seedConnectorFlow } from '../helpers/portal.js';
import { domainToken, seedDomain, type SeededDomain } from '../kandy/setup.js';
import { dropSchema } from '../../src/db/database.js';

type Table = 'messages' | 'groups' | 'webhooks' | 'domain_users' | 'domains' | 'idempotency_keys';
const key = () => `retry-${randomBytes(8).toString('hex')}`;
const REUSED = 'Idempotency-Key: was used in the last 24 hours for a different request';

describe('Idempotency-Key', () => {
  let t: TestApp;
  let flow: Awaited<ReturnType<typeof seedConnectorFlow>>;
  let auth: Record<string, string>;
  let d: SeededDomain;
  let domainTok: string;
  let accountTok: string;
  let receiver: Server;
  let hookUrl = '';

  before(async () => {
    // The webhook handshake: echo the validation token.
    receiver = createServer((req, res) => res.writeHead(200).end(new URL(req.url!, 'http://x').searchParams.get('validationToken') ?? ''));
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    t = await createTestApp();
    t.clock.freeze();
    flow = await seedConnectorFlow(t.app, { permissions: [...ALL_PERMISSIONS, 'webhook.read', 'webhook.write'], phone: '+14155550151' });
    auth = { accessToken: (await accessToken(t.app, flow.connector, flow.refreshToken)).json().accessToken };
    d = await seedDomain(t, { email: 'idem@example.com' });
    domainTok = await domainToken(t.app, d);
    await t.services.plans.set({ id: 'basic', maxUsers: '100' });
    accountTok = (await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=${d.accountKey}&account_api_secret=${d.accountSecret}` })).json().result.account_access_token;
  });
  after(async () => {
    await t.close();
    receiver.close();
  });

  const count = async (table: Table) => Number((await t.db.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const send = (method: 'POST', url: string, headers: Record<string, string>, payload: object, k?: string) =>
    t.app.inject({ method, url, headers: { ...headers, ...(k ? { 'idempotency-key': k } : {}) }, payload });

  // Every creating endpoint: [name, table it writes, request, a different body].
  // Bodies carry `tag`, so each test creates names of its own.
  const endpoints = (tag: string): [string, Table, (body: object, k?: string) => Promise<LightMyRequestResponse>, object, object][] => [
    ['Kaizala message', 'messages', (b, k) => send('POST', `/v1/groups/${flow.groupId}/messages`, auth, b, k), { message: `hello once ${tag}` }, { message: `hello twice ${tag}` }],
    ['Kaizala subgroup', 'groups', (b, k) => send('POST', `/v1/groups/${flow.groupId}/subGroups`, auth, b, k), { name: `Night ${tag}` }, { name: `Day ${tag}` }],
    ['Kaizala webhook', 'webhooks', (b, k) => send('POST', '/v1/webhook', auth, b, k),
      { objectId: flow.groupId, objectType: 'Group', eventTypes: ['TextMessageCreated'], callBackUrl: hookUrl, callBackContext: tag },
      { objectId: flow.groupId, objectType: 'Group', eventTypes: ['MemberAdded'], callBackUrl: hookUrl, callBackContext: tag }],
    ['Kandy user', 'domain_users', (b, k) => send('POST', `/v1.2/domains/users/user_id?key=${domainTok}`, {}, b, k),
      { user_id: `kandy-${tag}`, user_country_code: '+1' }, { user_id: `kandy-other-${tag}`, user_country_code: '+1' }],
    ['Kandy domain', 'domains', (b, k) => send('POST', `/v1.2/accounts/domains?key=${accountTok}`, {}, b, k), { domain_name: `once-${tag}.example.com` }, { domain_name: `twice-${tag}.example.com` }],
    ['native project', 'domains', (b, k) => send('POST', '/api/v1/projects', { authorization: `Bearer ${accountTok}` }, b, k),
      { domainName: `native-once-${tag}.example.com` }, { domainName: `native-twice-${tag}.example.com` }],
    ['native user', 'domain_users', (b, k) => send('POST', '/api/v1/project/users', { authorization: `Bearer ${domainTok}` }, b, k),
      { userId: `native-${tag}`, countryCode: 'US' }, { userId: `native-other-${tag}`, countryCode: 'US' }],
  ];

  test('the same key and body answer the first answer again, with no second write', async () => {
    for (const [name, table, request, body] of endpoints('replay')) {
      const k = key();
      const rows = await count(table);
      const first = await request(body, k);
      assert.ok(first.statusCode === 200 || first.statusCode === 201, `${name}: ${first.statusCode} ${first.body}`);
      assert.equal(first.headers['idempotent-replayed'], undefined, name);
      const again = await request(body, k);
      assert.deepEqual([again.statusCode, again.json()], [first.statusCode, first.json()], name);
      assert.equal(again.headers['idempotent-replayed'], 'true', name);
      assert.equal(await count(table), rows + 1, name);
    }
  });

  test('the same key with another body is 422 in the surface\'s shape, and writes nothing', async () => {
    for (const [name, table, request, body, other] of endpoints('reuse')) {
      const k = key();
      assert.ok((await request(body, k)).statusCode < 300, name);
      const rows = await count(table);
      const res = await request(other, k);
      assert.equal(res.statusCode, 422, name);
      const expected = name.startsWith('Kandy') ? { result: null, status: 8, message: REUSED }
        : { error: { code: 'idempotency_key_reused', message: REUSED, details: { field: 'Idempotency-Key' } } };
      assert.deepEqual(res.json(), expected, name);
      assert.equal(await count(table), rows, name);
    }
  });

  test('concurrent requests with one key write once and all get the same answer', async () => {
    const k = key();
    const messages = await count('messages');
    const answers = await Promise.all(Array.from({ length: 12 }, () => send('POST', `/v1/groups/${flow.groupId}/messages`, auth, { message: 'raced' }, k)));
    assert.deepEqual(new Set(answers.map((a) => a.statusCode)), new Set([201]));
    assert.equal(new Set(answers.map((a) => a.json().referenceId)).size, 1);
    assert.equal(await count('messages'), messages + 1);

    const users = await count('domain_users');
    const uk = key();
    const created = await Promise.all(Array.from({ length: 8 }, () => send('POST', `/v1.2/domains/users/user_id?key=${domainTok}`, {}, { user_id: 'raced', user_country_code: '+1' }, uk)));
    assert.deepEqual(new Set(created.map((a) => a.statusCode)), new Set([200]));
    assert.equal(new Set(created.map((a) => a.json().result.user_api_secret)).size, 1);
    assert.equal(await count('domain_users'), users + 1);
  });

  test('without a key every request writes; a refused request is not remembered', async () => {
    const messages = await count('messages');
    await send('POST', `/v1/groups/${flow.groupId}/messages`, auth, { message: 'no key' });
    await send('POST', `/v1/groups/${flow.groupId}/messages`, auth, { message: 'no key' });
    assert.equal(await count('messages'), messages + 2);
    const k = key();
    const refused = await send('POST', `/v1/groups/${flow.groupId}/messages`, auth, { message: '   ' }, k);
    assert.equal(refused.statusCode, 400);
    // Nothing was remembered for the key, so a corrected body is a first request, not a reuse.
    const fixed = await send('POST', `/v1/groups/${flow.groupId}/messages`, auth, { message: 'fixed' }, k);
    assert.deepEqual([fixed.statusCode, fixed.headers['idempotent-replayed']], [201, undefined]);
  });

  test('a malformed key is refused, not ignored', async () => {
    const messages = await count('messages');
    for (const bad of ['', 'x'.repeat(256), 'caf\u00e9']) {
      const res = await t.app.inject({ method: 'POST', url: `/v1/groups/${flow.groupId}/messages`, headers: { ...auth, 'idempotency-key': bad }, payload: { message: 'x' } });
      assert.deepEqual([res.statusCode, res.json()], [400, { error: {
        code: 'validation_failed', message: 'Idempotency-Key: must be 1 to 255 printable ASCII characters, sent once', details: { field: 'Idempotency-Key' },
      } }], JSON.stringify(bad));
    }
    assert.equal(await count('messages'), messages);
  });

  test('remembered answers are stored encrypted: a generated password is nowhere in the table', async () => {
    const res = await send('POST', `/v1.2/domains/users/user_id?key=${domainTok}`, {}, { user_id: 'sealed', user_country_code: '+1' }, key());
    const { user_password: password, user_api_secret: secret } = res.json().result;
    const rows = JSON.stringify(await t.db.kysely.selectFrom('idempotency_keys').selectAll().execute());
    assert.ok(!rows.includes(password) && !rows.includes(secret));
  });

  test('keys belong to their caller and last 24 hours', async () => {
    const k = key();
    const first = await send('POST', `/v1/groups/${flow.groupId}/messages`, auth, { message: 'mine' }, k);
    // Another connector may use the same key string for its own request.
    const other = await seedConnectorFlow(t.app, { email: 'other-idem@example.com', phone: '+14155550152' });
    const otherAuth = { accessToken: (await accessToken(t.app, other.connector, other.refreshToken)).json().accessToken };
    const theirs = await send('POST', `/v1/groups/${other.groupId}/messages`, otherAuth, { message: 'theirs' }, k);
    assert.deepEqual([theirs.statusCode, theirs.headers['idempotent-replayed']], [201, undefined]);
    // A day later the key is new again.
    t.clock.advance(24 * 3600_000);
    const fresh = { accessToken: (await accessToken(t.app, flow.connector, flow.refreshToken)).json().accessToken };
    const later = await send('POST', `/v1/groups/${flow.groupId}/messages`, fresh, { message: 'mine' }, k);
    assert.equal(later.statusCode, 201);
    assert.notEqual(later.json().referenceId, first.json().referenceId);
    assert.equal(later.headers['idempotent-replayed'], undefined);
  });
});

describe(`Idempotency-Key across two instances on ${onPostgres() ? 'one PostgreSQL schema' : 'one SQLite file'}`, () => {
  const schema = onPostgres() ? `t_idem_${randomBytes(5).toString('hex')}` : undefined;
  const dir = schema ? undefined : mkdtempSync(join(tmpdir(), 'tessera-idem-'));
  const env: Record<string, string> = schema ? { DATABASE_SCHEMA: schema } : { DATABASE_URL: `sqlite:${join(dir!, 'tessera.db')}` };
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    a = await createTestApp(env);
    b = await createTestApp(env);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    if (schema) await dropSchema(process.env.DATABASE_URL!, schema);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a retry that reaches the other instance gets the first answer, also when both race', async () => {
    const flow = await seedConnectorFlow(a.app);
    const headers = { accessToken: (await accessToken(a.app, flow.connector, flow.refreshToken)).json().accessToken, 'idempotency-key': key() };
    const url = `/v1/groups/${flow.groupId}/messages`;
    const first = await a.app.inject({ method: 'POST', url, headers, payload: { message: 'lost answer' } });
    const retry = await b.app.inject({ method: 'POST', url, headers, payload: { message: 'lost answer' } });
    assert.deepEqual([retry.statusCode, retry.json(), retry.headers['idempotent-replayed']], [201, first.json(), 'true']);
    const raced = { ...headers, 'idempotency-key': key() };
    const answers = await Promise.all([a, b, a, b].map((x) => x.app.inject({ method: 'POST', url, headers: raced, payload: { message: 'raced' } })));
    assert.deepEqual(answers.map((r) => r.statusCode), [201, 201, 201, 201]);
    assert.equal(new Set(answers.map((r) => r.json().referenceId)).size, 1);
    const rows = await a.db.kysely.selectFrom('messages').select('text').where('group_id', '=', flow.groupId).execute();
    assert.deepEqual(rows.map((r) => r.text).sort(), ['lost answer', 'raced']);
  });
});
