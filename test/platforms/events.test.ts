// Membership events reach the platform's own endpoint, a real HTTP server started here: created
// when a person signs up on the white-label page, ended when the Platform API ends it; each signed
// with the platform's secret (Standard Webhooks and Zaikio's X-Loom-Signature), in Loom's shape.
// An endpoint Tessera must not call (a private address in production) is refused by the form.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, platformOwner, privateToken, signUpMember, type PlatformSetup } from './helpers.js';

interface Received { headers: IncomingHttpHeaders; body: string }

describe('platform membership events', () => {
  let t: TestApp;
  let acme: PlatformSetup;
  let server: Server;
  let endpoint = '';
  const received: Received[] = [];

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}/events`;
    t = await createTestApp({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
    acme = await platformOwner(t.app, 'acme');
  });
  after(async () => {
    server.close();
    await t.close();
  });

  /**
   * Delivers what is due until `count` events have arrived. The app's own dispatcher also runs
   * every second, so a delivery may already be made, or under way, when the test asks.
   */
  async function drain(count: number): Promise<void> {
    for (let i = 0; i < 50 && received.length < count; i++) {
      await t.services.webhookDispatcher.runDue();
      if (received.length < count) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(received.length, count);
  }

  test('created on sign-up and ended through the API, signed with the platform\'s secret', async () => {
    await acme.owner.get(`/platforms/${acme.platformId}`);
    const saved = await acme.owner.upload(`/platforms/${acme.platformId}`, {
      display_name: 'Acme Print', primary_color: '#d9480f', support_contact: 'help@acme.example', connector_id: acme.app.id, logo_url: '', webhook_url: endpoint,
    });
    assert.equal(saved.statusCode, 303, saved.body.slice(0, 300));
    const page = await acme.owner.follow(saved);
    const secret = /id="platform-signing-secret">([^<]+)</.exec(page.body)![1]!;
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);

    const { tokens } = await signUpMember(t.app, acme, { name: 'Eve Events', email: 'eve@example.com' }, 'directory.platform_membership.rw');
    const personId = tokens.bearer.id as string;

    await drain(1);
    const pat = await privateToken(acme.owner, acme.orgId, ['directory.platform.rw']);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/platforms/acme/members/persons/${personId}`, headers: bearer(pat) })).statusCode, 204);
    await drain(2);

    const events = received.map((r) => {
      const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
      const standard = createHmac('sha256', key).update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`).digest('base64');
      assert.equal(r.headers['webhook-signature'], `v1,${standard}`);
      assert.equal(r.headers['x-loom-signature'], createHmac('sha256', secret).update(r.body).digest('hex'));
      const e = JSON.parse(r.body) as { id: string; name: string; subject: string; version: string; payload: Record<string, string> };
      assert.equal(r.headers['webhook-id'], e.id);
      return [e.name, e.subject, e.version, e.payload];
    });
    assert.deepEqual(events, [
      ['directory.platform_membership_created', `Per/${personId}`, '1.0', { platform: 'acme', member_type: 'Person', member_id: personId, joined_via: 'signup' }],
      ['directory.platform_membership_ended', `Per/${personId}`, '1.0', { platform: 'acme', member_type: 'Person', member_id: personId }],
    ]);
    const rows = await t.db.kysely.selectFrom('platform_event_deliveries').select(['status', 'attempts']).execute();
    assert.deepEqual(rows, [{ status: 'delivered', attempts: 1 }, { status: 'delivered', attempts: 1 }]);
  });

  test('in production an endpoint on a private address is refused by the form, and nothing is saved', async () => {
    const prod = await createTestApp({ NODE_ENV: 'production', MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), PUBLIC_URL: 'https://tessera.test' });
    try {
      const owner = await platformOwner(prod.app, 'prodco');
      await owner.owner.get(`/platforms/${owner.platformId}`);
      const res = await owner.owner.upload(`/platforms/${owner.platformId}`, {
        display_name: 'Prod Co', primary_color: '#123456', support_contact: '', connector_id: owner.app.id, logo_url: '', webhook_url: endpoint,
      });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, /id="f-webhook_url-error">must point to a public address</);
      const row = await prod.db.kysely.selectFrom('platforms').select('webhook_url').executeTakeFirstOrThrow();
      assert.equal(row.webhook_url, null);
    } finally {
      await prod.close();
    }
  });
});
