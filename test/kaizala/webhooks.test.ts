// Webhooks: the validation handshake, signed deliveries of group events (from connectors and from
// people), retries with backoff until the webhook is disabled, isolation, and SSRF protection.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { ALL_PERMISSIONS, accessToken, seedConnectorFlow } from '../helpers/portal.js';
import { DELIVERIES_KEPT_MS, prune } from '../../src/db/retention.js';

const WEBHOOK_PERMISSIONS = [...ALL_PERMISSIONS, 'webhook.read', 'webhook.write'];
const err = (code: string, message: string, details?: Record<string, unknown>) => ({ error: { code, message, ...(details ? { details } : {}) } });

interface Received { headers: IncomingHttpHeaders; body: string }

class Receiver {
  server: Server;
  received: Received[] = [];
  mode: 'ok' | 'fail' | 'no-echo' = 'ok';
  url = '';
  constructor() {
    this.server = createServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      if (req.method === 'GET') {
        const token = u.searchParams.get('validationToken') ?? '';
        res.writeHead(200, { 'content-type': 'text/plain' }).end(this.mode === 'no-echo' ? 'hello' : token);
        return;
      }
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        if (this.mode === 'fail') { res.writeHead(500).end(); return; }
        this.received.push({ headers: req.headers, body });
        res.writeHead(200).end();
      });
    });
  }
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
}

describe('webhooks', () => {
  let t: TestApp;
  let s: Awaited<ReturnType<typeof seedConnectorFlow>>;
  let auth: Record<string, string>;
  const rx = new Receiver();
  before(async () => {
    await rx.start();
    t = await createTestApp();
    s = await seedConnectorFlow(t.app, { permissions: WEBHOOK_PERMISSIONS });
    auth = { accessToken: (await accessToken(t.app, s.connector, s.refreshToken)).json().accessToken };
  });
  after(async () => {
    await t.close();
    rx.server.close();
  });

  const register = (body: Record<string, unknown>, headers = auth) =>
    t.app.inject({ method: 'POST', url: '/v1/webhook', headers, payload: { objectId: s.groupId, objectType: 'Group', eventTypes: ['TextMessageCreated'], callBackUrl: rx.url, ...body } });

  async function drain(count: number): Promise<void> {
    for (let i = 0; i < 50 && rx.received.length < count; i++) {
      await t.services.webhookDispatcher.runDue();
      if (rx.received.length < count) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(rx.received.length, count);
  }

  test('registration needs the endpoint to echo the validation token', async () => {
    rx.mode = 'no-echo';
    const res = await register({});
    assert.deepEqual([res.statusCode, res.json()], [400, err('webhook_validation_failed', 'callBackUrl: the endpoint must answer the validation request with the validationToken as plain text', { field: 'callBackUrl' })]);
    rx.mode = 'ok';
    const down = await register({ callBackUrl: 'http://127.0.0.1:1/nothing' });
    assert.equal(down.statusCode, 400);
    assert.equal(down.json().error.code, 'webhook_validation_failed');
    const bad = await register({ eventTypes: ['Teleported'] });
    assert.deepEqual([bad.statusCode, bad.json()], [400, err('validation_failed', 'eventTypes: "Teleported" is not a supported event type; use TextMessageCreated, MemberAdded, MemberRemoved', { field: 'eventTypes' })]);
    const notUrl = await register({ callBackUrl: 'ftp://example.com/x' });
    assert.deepEqual([notUrl.statusCode, notUrl.json()], [400, err('validation_failed', 'callBackUrl: must be an absolute http(s) URL', { field: 'callBackUrl' })]);
    const count = await t.db.kysely.selectFrom('webhooks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 0);
  });

  test('delivers signed events from connectors and from people, echoing the callback token', async () => {
    const res = await register({ eventTypes: ['TextMessageCreated', 'MemberAdded', 'MemberRemoved'], callBackToken: 'my-shared-token', callBackContext: 'ctx-42' });
    assert.equal(res.statusCode, 201);
    const { webhookId, signingSecret } = res.json();
    assert.match(signingSecret, /^whsec_[A-Za-z0-9+/]{43}=$/);

    const post = await t.app.inject({ method: 'POST', url: `/v1/groups/${s.groupId}/messages`, headers: auth, payload: { message: 'Truck arrived' } });
    assert.equal(post.statusCode, 201);
    await drain(1);
    const first = rx.received[0]!;
    const payload = JSON.parse(first.body);
    assert.deepEqual(payload, {
      objectId: s.groupId, objectType: 'Group', eventType: 'TextMessageCreated', eventId: payload.eventId,
      data: { text: 'Truck arrived', referenceId: post.json().referenceId }, context: 'ctx-42',
      fromUser: '', fromUserId: s.connector.id, fromUserName: 'Inventory bot',
    });
    assert.equal(first.headers['kz-callback-token'], 'my-shared-token');
    assert.equal(first.headers['webhook-id'], payload.eventId);
    // Standard Webhooks: base64 HMAC-SHA256 of "id.timestamp.body" keyed with the secret's bytes.
    const expected = createHmac('sha256', Buffer.from(signingSecret.slice('whsec_'.length), 'base64'))
      .update(`${first.headers['webhook-id']}.${first.headers['webhook-timestamp']}.${first.body}`).digest('base64');
    assert.equal(first.headers['webhook-signature'], `v1,${expected}`);

    // A person adds a member in the portal: MemberAdded, from that person.
    await s.person.get(`/groups/${s.groupId}`);
    assert.equal((await s.person.post(`/groups/${s.groupId}/members`, { phone: '+14155550177', role: 'member' })).statusCode, 303);
    await drain(2);
    const added = JSON.parse(rx.received[1]!.body);
    assert.deepEqual([added.eventType, added.data, added.fromUser, added.fromUserName], ['MemberAdded', { member: '+14155550177', memberName: '', type: 'Member' }, '+14155550123', 'Test Person']);

    const list = await t.app.inject({ method: 'GET', url: `/v1/webhook?objectId=${s.groupId}&objectType=Group`, headers: auth });
    assert.deepEqual(list.json(), { webhooks: [{
      webhookId, objectId: s.groupId, objectType: 'Group', eventTypes: ['TextMessageCreated', 'MemberAdded', 'MemberRemoved'],
      callBackUrl: rx.url, callBackContext: 'ctx-42', active: true, expiresAt: null,
    }] });

    // Switched off: nothing is queued; deleted: it is gone.
    const off = await t.app.inject({ method: 'PUT', url: `/v1/webhook/${webhookId}`, headers: auth, payload: { Active: false } });
    assert.deepEqual([off.statusCode, off.json().active], [200, false]);
    await t.app.inject({ method: 'POST', url: `/v1/groups/${s.groupId}/messages`, headers: auth, payload: { message: 'unseen' } });
    await t.services.webhookDispatcher.runDue();
    assert.equal(rx.received.length, 2);
    const del = await t.app.inject({ method: 'DELETE', url: `/v1/webhook/${webhookId}`, headers: auth });
    assert.deepEqual([del.statusCode, del.json()], [200, { result: true }]);
    const gone = await t.app.inject({ method: 'DELETE', url: `/v1/webhook/${webhookId}`, headers: auth });
    assert.deepEqual([gone.statusCode, gone.json()], [404, err('not_found', 'Webhook not found')]);

    // The callback token is stored encrypted, never in the clear.
    const dump = JSON.stringify((await sql`select * from webhooks`.execute(t.db.kysely)).rows);
    assert.ok(!dump.includes('my-shared-token'));
  });

  test('needs the webhook permissions and stays inside the grant', async () => {
    const plain = await s.person.createConnector(s.orgId, 'No hooks', ['groupinfo.read']);
    const rt = await s.person.grant(s.groupId, plain.id);
    const h = { accessToken: (await accessToken(t.app, plain, rt)).json().accessToken };
    const res = await register({}, h);
    assert.deepEqual([res.statusCode, res.json()], [403, err('insufficient_permission', 'This connector lacks the webhook.write permission', { permission: 'webhook.write' })]);
    const list = await t.app.inject({ method: 'GET', url: `/v1/webhook?objectId=${s.groupId}&objectType=Group`, headers: h });
    assert.equal(list.statusCode, 403);

    const other = await seedConnectorFlow(t.app, { email: 'other@example.com', phone: '+14155550188', orgName: 'Other', permissions: WEBHOOK_PERMISSIONS });
    const foreign = await register({ objectId: other.groupId });
    assert.deepEqual([foreign.statusCode, foreign.json()], [404, err('not_found', 'Group not found')]);
    // Another connector cannot see or touch this connector's webhook.
    const mine = (await register({})).json().webhookId as string;
    const otherAuth = { accessToken: (await accessToken(t.app, other.connector, other.refreshToken)).json().accessToken };
    const touch = await t.app.inject({ method: 'PUT', url: `/v1/webhook/${mine}`, headers: otherAuth, payload: { Active: false } });
    assert.deepEqual([touch.statusCode, touch.json()], [404, err('not_found', 'Webhook not found')]);
  });

  test('retries a failing endpoint six times with backoff, then disables the webhook', async () => {
    rx.received = [];
    const { webhookId } = (await register({})).json();
    rx.mode = 'fail';
    await t.app.inject({ method: 'POST', url: `/v1/groups/${s.groupId}/messages`, headers: auth, payload: { message: 'will fail' } });
    const delivery = () => t.db.kysely.selectFrom('webhook_deliveries').select(['attempts', 'status', 'last_error']).where('webhook_id', '=', webhookId).executeTakeFirstOrThrow();
    await t.services.webhookDispatcher.runDue();
    assert.deepEqual(await delivery(), { attempts: 1, status: 'pending', last_error: 'endpoint answered 500' });
    // Not due again before its backoff.
    t.clock.advance(4 * 60_000);
    await t.services.webhookDispatcher.runDue();
    assert.equal((await delivery()).attempts, 1);
    for (const minutes of [1, 30, 120, 360, 720, 1440]) {
      t.clock.advance(minutes * 60_000 + 61_000);
      await t.services.webhookDispatcher.runDue();
    }
    assert.deepEqual(await delivery(), { attempts: 7, status: 'failed', last_error: 'endpoint answered 500' });
    // Two days later the access token has expired too: get a fresh one.
    const fresh = { accessToken: (await accessToken(t.app, s.connector, s.refreshToken)).json().accessToken };
    const list = await t.app.inject({ method: 'GET', url: `/v1/webhook?objectId=${s.groupId}&objectType=Group`, headers: fresh });
    assert.equal(list.json().webhooks.find((w: { webhookId: string }) => w.webhookId === webhookId).active, false);
    rx.mode = 'ok';
    assert.equal(rx.received.length, 0);
  });

  test('delivered and abandoned deliveries are pruned 30 days after they were made; pending ones stay', async () => {
    // One delivered now, beside the one abandoned above (two days on: a fresh access token).
    const fresh = { accessToken: (await accessToken(t.app, s.connector, s.refreshToken)).json().accessToken };
    assert.equal((await register({}, fresh)).statusCode, 201);
    assert.equal((await t.app.inject({ method: 'POST', url: `/v1/groups/${s.groupId}/messages`, headers: fresh, payload: { message: 'arrives' } })).statusCode, 201);
    await drain(1);
    const rows = () => t.db.kysely.selectFrom('webhook_deliveries').select(['id', 'status', 'created_at']).orderBy('id').execute();
    const all = await rows();
    const finished = all.filter((r) => r.status !== 'pending');
    assert.deepEqual([...new Set(finished.map((r) => r.status))].sort(), ['delivered', 'failed']);
    const oldest = Math.min(...finished.map((r) => r.created_at));
    const newest = Math.max(...finished.map((r) => r.created_at));
    assert.equal((await prune(t.db.kysely, oldest + DELIVERIES_KEPT_MS)).webhook_deliveries, 0, 'none is older than 30 days yet');
    assert.equal((await prune(t.db.kysely, newest + DELIVERIES_KEPT_MS + 1)).webhook_deliveries, finished.length);
    assert.deepEqual(await rows(), all.filter((r) => r.status === 'pending'));
  });
});

describe('webhook targets in production', () => {
  let t: TestApp;
  before(async () => { t = await createTestApp({}, { webhookAllowPrivateTargets: false }); });
  after(async () => { await t.close(); });

  test('loopback and private addresses are refused (no SSRF)', async () => {
    const s = await seedConnectorFlow(t.app, { permissions: WEBHOOK_PERMISSIONS });
    const auth = { accessToken: (await accessToken(t.app, s.connector, s.refreshToken)).json().accessToken };
    for (const url of ['http://127.0.0.1:8080/x', 'http://10.1.2.3/x', 'http://[::1]/x', 'http://169.254.169.254/latest/meta-data', 'http://localhost/x']) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/webhook', headers: auth, payload: { objectId: s.groupId, objectType: 'Group', eventTypes: ['MemberAdded'], callBackUrl: url } });
      assert.deepEqual([res.statusCode, res.json()], [400, err('validation_failed', 'callBackUrl: must point to a public address', { field: 'callBackUrl' })], url);
    }
  });
});

describe('webhooks of a deleted connector', () => {
  let t: TestApp;
  const rx = new Receiver();
  before(async () => {
    await rx.start();
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
    rx.server.close();
  });

  test('stop at once: the group keeps working, and nothing is queued for them', async () => {
    const s = await seedConnectorFlow(t.app, { permissions: WEBHOOK_PERMISSIONS });
    const auth = { accessToken: (await accessToken(t.app, s.connector, s.refreshToken)).json().accessToken };
    const hook = await t.app.inject({ method: 'POST', url: '/v1/webhook', headers: auth, payload: { objectId: s.groupId, objectType: 'Group', eventTypes: ['TextMessageCreated', 'MemberAdded'], callBackUrl: rx.url } });
    assert.equal(hook.statusCode, 201);
    // A person's message is delivered: the group's webhooks are now remembered by the server.
    assert.equal((await s.person.post(`/groups/${s.groupId}/messages`, { message: 'before' })).statusCode, 303);
    const deliveries = () => t.db.kysely.selectFrom('webhook_deliveries').select('id').execute().then((r) => r.length);
    assert.equal(await deliveries(), 1);
    // Deleting the connector cascades to its grant and its webhooks; the statement names only `connectors`.
    assert.equal((await s.person.post(`/connectors/${s.connector.id}/delete`, {})).statusCode, 303);
    const after = await s.person.post(`/groups/${s.groupId}/messages`, { message: 'after' });
    assert.equal(after.statusCode, 303);
    const member = await s.person.post(`/groups/${s.groupId}/members`, { phone: '+14155550166', role: 'member' });
    assert.equal(member.statusCode, 303);
    assert.deepEqual((await t.db.kysely.selectFrom('messages').select('text').where('group_id', '=', s.groupId).orderBy('id').execute()).map((m) => m.text), ['before', 'after']);
    assert.equal(await deliveries(), 0, 'the delivery of the deleted webhook went with it, and no new one was queued');
  });
});
