// Prometheus metrics (prom-client), in one registry per Tessera so test apps in one process do not
// mix. What an operator watches: request duration by route and status; tokens issued and refused
// by kind; failed authentications and rate-limit refusals; webhook deliveries by outcome and the
// queues' depth; database query time; the process defaults (CPU, memory, event-loop lag, GC).
//
// Tokens, failed authentications and refusals are read off the answers (route and status) in one
// hook rather than counted inside each service: every surface answers them the same way (a token
// route's 2xx issued one, 401 is a failed authentication, 429 a limit), so one place stays right
// as routes are added, and services stay free of instrumentation.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Collect } from './server.js';
import { RequestHistogram, type Series } from './request-histogram.js';

export type DeliveryQueue = 'group' | 'platform';
export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'dropped';

/** What the rest of Tessera reports; `none` when metrics are off. */
export interface Metrics {
  readonly registry: Registry | undefined;
  delivery(queue: DeliveryQueue, outcome: DeliveryOutcome): void;
  /** A database statement took `ms`. */
  query(ms: number, sql: string, failed: boolean): void;
}

/** A route's (and method's) timer series by status, and whether the route issues tokens. */
interface RouteSeries { issues: boolean; byStatus: Map<number, Series> }

export const noMetrics: Metrics = { registry: undefined, delivery: () => {}, query: () => {} };

const GRANTS = new Set(['authorization_code', 'refresh_token', 'client_credentials']);
const STATEMENTS = new Set(['select', 'insert', 'update', 'delete', 'with']);

/** The kind of token a route issues, if it issues one (labels stay few: no free text from clients). */
export function tokenKind(method: string, route: string, body: unknown): string | undefined {
  if (method !== 'POST' && method !== 'GET') return undefined;
  if (/\/oauth\/(token|access_token)$/.test(route)) {
    const grant = (body as { grant_type?: unknown } | undefined)?.grant_type;
    return `oauth_${typeof grant === 'string' && GRANTS.has(grant) ? grant : 'other'}`;
  }
  if (route === '/v1/accessToken') return 'kaizala';
  if (method === 'POST' && route === '/orgs/:orgId/private-tokens') return 'private_access_token';
  const kandy = /^\/(?:v1\.2|api\/v1)\/(accounts?|domains|domains\/users|project|user|project\/users\/:userId)\/(?:accesstokens|access-tokens)$/.exec(route);
  if (kandy) return `kandy_${({ accounts: 'account', domains: 'domain', 'domains/users': 'user', 'project/users/:userId': 'user' } as Record<string, string>)[kandy[1]!] ?? kandy[1]}`;
  return undefined;
}

export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly requests: RequestHistogram;
  private readonly tokens: Counter<'kind' | 'outcome'>;
  private readonly authFailures: Counter<'route'>;
  private readonly rateLimited: Counter<'route'>;
  private readonly deliveries: Counter<'queue' | 'outcome'>;
  private readonly queries: Histogram<'statement' | 'outcome'>;

  constructor(readonly dialect: string) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new RequestHistogram('http_request_duration_seconds', 'Time to answer an HTTP request, by route pattern and status',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]);
    // A registry takes any metric with name, help, type and get() (request-histogram.ts).
    this.registry.registerMetric(this.requests as unknown as Histogram);
    this.tokens = new Counter({ name: 'tessera_tokens_total', help: 'Token requests by kind, issued or refused', labelNames: ['kind', 'outcome'], registers });
    this.authFailures = new Counter({ name: 'tessera_authentication_failures_total', help: 'Requests refused because a credential was wrong or missing (401), by route', labelNames: ['route'], registers });
    this.rateLimited = new Counter({ name: 'tessera_rate_limited_total', help: 'Requests refused by a rate limit (429), by route', labelNames: ['route'], registers });
    this.deliveries = new Counter({ name: 'tessera_webhook_deliveries_total', help: 'Webhook delivery attempts by queue and outcome', labelNames: ['queue', 'outcome'], registers });
    this.queries = new Histogram({
      name: 'tessera_db_query_duration_seconds', help: `Database statement time (${dialect})`, labelNames: ['statement', 'outcome'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2], registers,
    });
  }

  /** This process's metrics in the text format. */
  async collect(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  /** The webhook queues' depth, read at each scrape (a count of pending rows per queue). */
  watchQueues(db: Kysely<Database>): void {
    const pending = async (table: 'webhook_deliveries' | 'platform_event_deliveries') =>
      Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'pending').executeTakeFirstOrThrow()).n);
    new Gauge({
      name: 'tessera_webhook_queue_depth', help: 'Webhook deliveries waiting to be sent, by queue', labelNames: ['queue'], registers: [this.registry],
      // Every worker reads the same table: their answers are one depth, not parts of a sum.
      aggregator: 'max',
      async collect() {
        const [group, platform] = await Promise.all([pending('webhook_deliveries'), pending('platform_event_deliveries')]);
        this.set({ queue: 'group' }, group);
        this.set({ queue: 'platform' }, platform);
      },
    });
  }

  /**
   * The onResponse hook of one route: its labels and whether it issues tokens are worked out once,
   * when the route is registered, so a request pays a lookup by method and status and the
   * observation (reading `req.routeOptions` builds an object per call).
   */
  routeHook(route: string): onResponseHookHandler {
    const byMethod = new Map<string, RouteSeries>();
    return (req, reply, done) => {
      const method = req.method;
      let m = byMethod.get(method);
      // The body only decides an OAuth grant's kind: any body tells whether the route issues.
      if (!m) byMethod.set(method, m = { issues: tokenKind(method, route, {}) !== undefined, byStatus: new Map() });
      this.record(m, method, route, req, reply);
      done();
    };
  }

  /** An answer no route gave (the not-found handler): counted under the route "unmatched". */
  private readonly unmatched: RouteSeries = { issues: false, byStatus: new Map() };
  observeUnmatched(req: FastifyRequest, reply: FastifyReply): void {
    this.record(this.unmatched, req.method, 'unmatched', req, reply);
  }

  private record(m: RouteSeries, method: string, route: string, req: FastifyRequest, reply: FastifyReply): void {
    const status = reply.statusCode;
    let series = m.byStatus.get(status);
    if (!series) m.byStatus.set(status, series = this.requests.labels({ method, route, status_code: status }));
    series.observe(reply.elapsedTime / 1000);
    if (status === 401) this.authFailures.inc({ route });
    else if (status === 429) this.rateLimited.inc({ route });
    const kind = m.issues ? tokenKind(method, route, req.body) : undefined;
    if (kind && status < 500) this.tokens.inc({ kind, outcome: status < 400 ? 'issued' : 'refused' });
  }

  delivery(queue: DeliveryQueue, outcome: DeliveryOutcome): void {
    this.deliveries.inc({ queue, outcome });
  }

  query(ms: number, sql: string, failed: boolean): void {
    const word = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? '';
    this.queries.observe({ statement: STATEMENTS.has(word) ? word : 'other', outcome: failed ? 'error' : 'ok' }, ms / 1000);
  }
}

/** The answer to a scrape, in Prometheus' text format. */
export async function scrape(collect: Collect, reply: FastifyReply): Promise<FastifyReply> {
  const { contentType, text } = await collect();
  return reply.type(contentType).header('cache-control', 'no-store').send(text);
}

/**
 * Gives every route registered from now on its onResponse hook (register this before any route),
 * so every surface's answers are counted; the not-found handler calls observeUnmatched itself.
 * Callback hooks: no promise per request.
 */
export function instrument(app: FastifyInstance, metrics: PrometheusMetrics): void {
  app.addHook('onRoute', (route) => {
    const own = route.onResponse === undefined ? [] : [route.onResponse].flat();
    route.onResponse = [...own, metrics.routeHook(route.url)];
  });
}
