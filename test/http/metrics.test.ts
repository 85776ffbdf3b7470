// Prometheus metrics at /metrics, scraped and parsed with a Prometheus text-format parser: the
// request histogram by route and status, tokens issued and refused by kind, failed
// authentications and rate-limit refusals, the webhook queues, database time and the process
// defaults — each moving as requests are made. METRICS_PORT moves the scrape to a listener of
// its own; METRICS=off leaves no /metrics at all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import parse, { type MetricFamily } from 'parse-prometheus-text-format';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { accessToken, ALL_PERMISSIONS, seedConnectorFlow } from '../helpers/portal.js';
import { ConfigError, loadConfig } from '../../src/config.js';

type Labels = Record<string, string>;

type Scrape = Map<string, MetricFamily> & { text: string };

/** One scrape, parsed (the parser refuses a line that is not Prometheus text) into families by name. */
async function scrape(t: TestApp): Promise<Scrape> {
  const res = await t.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  return Object.assign(new Map(parse(res.body).map((f) => [f.name, f])), { text: res.body });
}

const matches = (labels: Labels | undefined, want: Labels) => Object.entries(want).every(([k, v]) => labels?.[k] === v);

/** The value of a counter or gauge sample (0 when the labels have none yet). */
function value(families: Map<string, MetricFamily>, name: string, labels: Labels = {}): number {
  const sample = families.get(name)?.metrics.find((m) => matches(m.labels, labels));
  return sample ? Number(sample.value) : 0;
}

/**
 * A histogram's count for the labels, summed over the series that have them. The parser folds a
 * labelled histogram's series into one (it keeps labels only for counters and gauges), so the
 * `_count` lines of the family it found are read here.
 */
function count(families: Scrape, name: string, labels: Labels = {}): number {
  assert.equal(families.get(name)?.type, 'HISTOGRAM');
  let n = 0;
  for (const line of families.text.split('\n')) {
    const m = new RegExp(`^${name}_count\\{(.*)\\} (\\S+)$`).exec(line);
    if (!m) continue;
    const got = Object.fromEntries([...m[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (matches(got, labels)) n += Number(m[2]);
  }
  return n;
}

describe('Prometheus metrics', () => {
  let t: TestApp;
  let flow: Awaited<ReturnType<typeof seedConnectorFlow>>;

  before(async () => {
    t = await createTestApp();
    flow = await seedConnectorFlow(t.app);
  });
  after(async () => { await t.close(); });

  test('the scrape is Prometheus text with the process defaults and every family Tessera declares', async () => {
    const m = await scrape(t);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes',
      'http_request_duration_seconds', 'tessera_tokens_total', 'tessera_authentication_failures_total', 'tessera_rate_limited_total',
      'tessera_webhook_deliveries_total', 'tessera_webhook_queue_depth', 'tessera_db_query_duration_seconds']) {
      assert.ok(m.has(name), `${name} is exposed`);
    }
    assert.equal(m.get('http_request_duration_seconds')!.type, 'HISTOGRAM');
    assert.equal(value(m, 'tessera_webhook_queue_depth', { queue: 'group' }), 0);
    assert.equal(value(m, 'tessera_webhook_queue_depth', { queue: 'platform' }), 0);
    assert.ok(count(m, 'tessera_db_query_duration_seconds', { statement: 'select', outcome: 'ok' }) > 0, 'the seed ran selects');
    assert.ok(count(m, 'tessera_db_query_duration_seconds', { statement: 'insert', outcome: 'ok' }) > 0, 'and inserts');
  });

  test('requests are timed by route pattern and status, never by the raw path', async () => {
    const before = await scrape(t);
    const route = { method: 'GET', route: '/v1/groups/:groupId', status_code: '401' };
    await t.app.inject({ method: 'GET', url: `/v1/groups/${flow.groupId}` });
    await t.app.inject({ method: 'GET', url: '/v1/groups/00000000-0000-4000-8000-000000000000' });
    const after = await scrape(t);
    assert.equal(count(after, 'http_request_duration_seconds', route) - count(before, 'http_request_duration_seconds', route), 2);
    assert.equal(after.text.includes(flow.groupId), false);
    // What reaches no route is one label, whatever the path.
    await t.app.inject({ method: 'GET', url: '/no/such/path/1' });
    await t.app.inject({ method: 'GET', url: '/no/such/path/2' });
    const unmatched = await scrape(t);
    assert.equal(count(unmatched, 'http_request_duration_seconds', { route: 'unmatched', status_code: '404' }) - count(after, 'http_request_duration_seconds', { route: 'unmatched', status_code: '404' }), 2);
    // Routes registered first of all (the document's), and the HEAD routes Fastify adds, have their timer too.
    await t.app.inject({ method: 'GET', url: '/openapi.json' });
    await t.app.inject({ method: 'HEAD', url: '/healthz' });
    const early = await scrape(t);
    assert.equal(count(early, 'http_request_duration_seconds', { method: 'GET', route: '/openapi.json', status_code: '200' }) - count(unmatched, 'http_request_duration_seconds', { method: 'GET', route: '/openapi.json', status_code: '200' }), 1);
    assert.equal(count(early, 'http_request_duration_seconds', { method: 'HEAD', route: '/healthz', status_code: '200' }) - count(unmatched, 'http_request_duration_seconds', { method: 'HEAD', route: '/healthz', status_code: '200' }), 1);
  });

  test('tokens issued and refused by kind; a wrong secret is a failed authentication', async () => {
    const before = await scrape(t);
    assert.equal((await accessToken(t.app, flow.connector, flow.refreshToken)).statusCode, 200);
    assert.equal((await accessToken(t.app, flow.connector, flow.refreshToken)).statusCode, 200);
    assert.equal((await accessToken(t.app, { id: flow.connector.id, secret: 'tcs_wrong' }, flow.refreshToken)).statusCode, 401);
    const after = await scrape(t);
    const delta = (name: string, labels: Labels) => value(after, name, labels) - value(before, name, labels);
    assert.equal(delta('tessera_tokens_total', { kind: 'kaizala', outcome: 'issued' }), 2);
    assert.equal(delta('tessera_tokens_total', { kind: 'kaizala', outcome: 'refused' }), 1);
    assert.equal(delta('tessera_authentication_failures_total', { route: '/v1/accessToken' }), 1);
  });

  test('an OAuth grant counts under its grant type; a grant type nobody knows is "other", not a new label', async () => {
    const before = await scrape(t);
    const token = (body: Record<string, string>) => t.app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(body).toString() });
    assert.equal((await token({ grant_type: 'client_credentials', client_id: flow.connector.id, client_secret: 'wrong' })).statusCode, 401);
    assert.equal((await token({ grant_type: 'made-up-grant-123', client_id: flow.connector.id })).statusCode, 400);
    const after = await scrape(t);
    assert.equal(value(after, 'tessera_tokens_total', { kind: 'oauth_client_credentials', outcome: 'refused' }) - value(before, 'tessera_tokens_total', { kind: 'oauth_client_credentials', outcome: 'refused' }), 1);
    assert.equal(value(after, 'tessera_tokens_total', { kind: 'oauth_other', outcome: 'refused' }) - value(before, 'tessera_tokens_total', { kind: 'oauth_other', outcome: 'refused' }), 1);
    assert.equal(after.get('tessera_tokens_total')!.metrics.some((s) => s.labels?.kind?.includes('made-up')), false);
  });

  test('webhook deliveries by outcome, and the queue\'s depth while they wait', async () => {
    let fail = true;
    const received: string[] = [];
    const rx = createServer((req, res) => {
      if (req.method === 'GET') return res.writeHead(200, { 'content-type': 'text/plain' }).end(new URL(req.url!, 'http://x').searchParams.get('validationToken') ?? '');
      received.push(req.url!);
      res.writeHead(fail ? 500 : 200).end();
    });
    await new Promise<void>((resolve) => rx.listen(0, '127.0.0.1', resolve));
    try {
      const s = await seedConnectorFlow(t.app, { email: 'hooks@example.com', phone: '+14155550177', permissions: [...ALL_PERMISSIONS, 'webhook.read', 'webhook.write'] });
      const headers = { accessToken: (await accessToken(t.app, s.connector, s.refreshToken)).json().accessToken as string };
      const hook = await t.app.inject({ method: 'POST', url: '/v1/webhook', headers, payload: { objectId: s.groupId, objectType: 'Group', eventTypes: ['TextMessageCreated'], callBackUrl: `http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook` } });
      assert.equal(hook.statusCode, 201, hook.body);
      const before = await scrape(t);
      assert.equal((await s.person.post(`/groups/${s.groupId}/messages`, { message: 'counted' })).statusCode, 303);
      assert.equal(value(await scrape(t), 'tessera_webhook_queue_depth', { queue: 'group' }), 1);
      await t.services.webhookDispatcher.runDue();
      const retried = await scrape(t);
      assert.equal(value(retried, 'tessera_webhook_deliveries_total', { queue: 'group', outcome: 'retry' }) - value(before, 'tessera_webhook_deliveries_total', { queue: 'group', outcome: 'retry' }), 1);
      fail = false;
      t.clock.advance(3600_000);
      await t.services.webhookDispatcher.runDue();
      const delivered = await scrape(t);
      assert.equal(value(delivered, 'tessera_webhook_deliveries_total', { queue: 'group', outcome: 'delivered' }) - value(before, 'tessera_webhook_deliveries_total', { queue: 'group', outcome: 'delivered' }), 1);
      assert.equal(value(delivered, 'tessera_webhook_queue_depth', { queue: 'group' }), 0);
      assert.equal(received.length, 2);
    } finally {
      rx.close();
    }
  });

  test('rate-limit refusals are counted by route', async () => {
    const before = await scrape(t);
    let limited = 0;
    for (let i = 0; i < 25; i++) {
      const res = await accessToken(t.app, { id: flow.connector.id, secret: `tcs_guess_${i}` }, flow.refreshToken);
      if (res.statusCode === 429) limited++;
    }
    assert.ok(limited > 0, 'the failure limit answered 429');
    const after = await scrape(t);
    assert.equal(value(after, 'tessera_rate_limited_total', { route: '/v1/accessToken' }) - value(before, 'tessera_rate_limited_total', { route: '/v1/accessToken' }), limited);
  });
});

describe('where the metrics are served', () => {
  test('METRICS_PORT: on a listener of its own, and not on the main port', async () => {
    const t = await createTestApp({ METRICS_PORT: '0', HOST: '127.0.0.1' });
    try {
      assert.ok(t.metricsPort);
      const res = await fetch(`http://127.0.0.1:${t.metricsPort}/metrics`);
      assert.equal(res.status, 200);
      assert.ok(parse(await res.text()).some((f) => f.name === 'http_request_duration_seconds'));
      assert.equal((await fetch(`http://127.0.0.1:${t.metricsPort}/other`)).status, 404);
      const main = await t.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(main.statusCode, 404);
      assert.equal(main.json().error.code, 'not_found');
    } finally {
      await t.close();
    }
  });

  test('METRICS=off: no /metrics', async () => {
    const t = await createTestApp({ METRICS: 'off' });
    try {
      assert.equal((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
    } finally {
      await t.close();
    }
  });

  test('METRICS and METRICS_PORT are checked at start', () => {
    assert.throws(() => loadConfig({ METRICS: 'maybe' }), (e: unknown) => e instanceof ConfigError && e.message === 'METRICS must be on or off, got "maybe"');
    assert.throws(() => loadConfig({ METRICS_PORT: '70000' }), (e: unknown) => e instanceof ConfigError && /^METRICS_PORT must be a port number/.test(e.message));
  });
});
