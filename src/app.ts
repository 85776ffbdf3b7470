// buildApp(config) assembles Tessera without listening, so tests drive it with app.inject() or
// a real socket, and the CLI adds listen(). Plugin boundaries follow trust boundaries: the token
// service and platform API (bearer tokens, JSON errors), and the portal (cookie sessions, CSRF,
// HTML errors). Each registers its own error handler.
import Fastify, { type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import cookie from '@fastify/cookie';
import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import { openDatabase, ping, type Db } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { ReadCaches } from './db/read-cache.js';
import { NOTIFYING_TABLES } from './db/migrations/0300_change_feed.js';
import { SigningKeys } from './keys/signing-keys.js';
import { systemClock, type Clock } from './lib/clock.js';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from './lib/rate-limit.js';
import { createSmsProvider } from './sms/sms.js';
import { createMailProvider } from './mail/mail.js';
import { createServices, type Services } from './services.js';
import type { Deps } from './deps.js';
import { lazyChildLogger, loggerOptions } from './http/logging.js';
import { jsonErrorHandler } from './http/errors.js';
import { bySurface, clientErrorHandler, routerError, type ErrorWriter } from './http/surfaces.js';
import { surfaceValidators } from './http/validation.js';
import { DeferredCompiles, deferredSerializers } from './http/deferred-compiles.js';
import { kandyErrorHandler } from './kandy/envelope.js';
import { oauthErrorHandler } from './oauth/errors.js';
import { zaikioErrorHandler } from './zaikio/errors.js';
import { zaikioRoutes } from './zaikio/routes.js';
import { platformApiRoutes } from './platforms/api-routes.js';
import { whiteLabelRoutes } from './platforms/white-label.js';
import { Portal } from './portal/session.js';
import { portalErrorPage } from './portal/pages/errors.js';
import { assetRoutes } from './portal/pages/assets.js';
import { page } from './portal/views/layout.js';
import { Pruner } from './db/retention.js';
import { refuseNulCharacters } from './http/nul.js';
import { kaizalaRoutes } from './kaizala/routes.js';
import { kandyRoutes } from './kandy/routes.js';
import { portalRoutes } from './portal/routes.js';
import { oauthRoutes } from './oauth/routes.js';
import { instanceSecret } from './keys/instance-secret.js';
import { instrument, noMetrics, PrometheusMetrics, scrape } from './metrics/metrics.js';
import { listenForScrapes } from './metrics/server.js';
import { registerOpenApi } from './openapi/openapi.js';
import { VERSION } from './version.js';
import type { WorkerRole } from './cluster/worker.js';
import { Jwks } from './http/schemas.js';
import { Sealer } from './keys/sealed.js';

// The public members of an EC or RSA JWK. Serialised through this schema, a private member ("d",
// primes) could never be published even if one reached the key set by mistake.
const Status = (status: string) => ({ type: 'object', properties: { status: { type: 'string', const: status } }, required: ['status'] });

export interface BuildOptions {
  clock?: Clock;
  /** Pass false to silence request logs (tests); a pino level string otherwise. */
  logLevel?: string;
  /** Where logs go (tests capture them to prove no credential is ever written). */
  logStream?: NodeJS.WritableStream;
  /** This process is one worker of `tessera start --workers N` (cluster/worker.ts). */
  worker?: WorkerRole;
}

/** A registered route: what the fuzz suite walks (and what an API description must cover). */
export interface RouteEntry { method: string; url: string }

export interface Tessera {
  app: FastifyInstance;
  services: Services;
  db: Db;
  /** Every route the app registered, in order (HEAD routes Fastify adds for GETs left out). */
  routes: readonly RouteEntry[];
  /** Where METRICS_PORT's listener is, when one was asked for. */
  metricsPort?: number;
  /** The routes' validators and serialisers not compiled yet (http/deferred-compiles.ts). */
  compiles: DeferredCompiles;
}

export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<Tessera> {
  const clock = opts.clock ?? systemClock;
  // Set once the portal exists; Fastify needs the hooks below before that.
  let surfaceErrors: ErrorWriter = jsonErrorHandler;
  let renderErrorPage = (status: number, message: string): string => `<!doctype html><title>${status}</title><p>${message}</p>`;
  const compiles = new DeferredCompiles();
  const app = Fastify({
    logger: { ...loggerOptions(opts.logLevel ?? config.logLevel), ...(opts.logStream ? { stream: opts.logStream } : {}) },
    childLoggerFactory: lazyChildLogger,
    // Off unless configured: X-Forwarded-For from an untrusted peer would let any client choose
    // the address that rate limits count against.
    trustProxy: config.trustProxy,
    bodyLimit: 256 * 1024,
    // Reject unknown fields instead of silently dropping them; convert query strings, headers and
    // route parameters (text by nature), and form bodies, but never a JSON body (validation.ts).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    schemaController: { compilersFactory: { buildValidator: surfaceValidators(compiles), buildSerializer: deferredSerializers(compiles) } },
    // What the router refuses before any route runs (a broken percent-encoding, a parameter over
    // maxParamLength) and what Node's parser refuses (headers over 16 KB) answer in the shape of
    // the surface the path belongs to, never in Fastify's own JSON.
    frameworkErrors: (err, req, reply) => surfaceErrors(routerError(err, req), req, reply),
    clientErrorHandler: clientErrorHandler((status, message) => renderErrorPage(status, message)),
  });

  const metrics = config.metrics.enabled ? new PrometheusMetrics(config.databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'postgres') : undefined;
  const db = await openDatabase(config, metrics ? (ms, text, failed) => metrics.query(ms, text, failed) : undefined, opts.worker?.database);
  let redis: Redis | undefined;
  let scrapes: Awaited<ReturnType<typeof listenForScrapes>> | undefined;
  try {
    await migrateToLatest(db);
    await db.learnSchema();
    // Other instances' writes reach this one's caches through the database (change-feed.ts).
    await db.changes.start((err) => app.log.error({ err }, 'change feed: lost the database connection; caches are bypassed until it is back'));
    const sealer = new Sealer(config.masterKey);
    const keys = new SigningKeys(db.kysely, clock, { sealer, changes: db.changes });
    await keys.init();
    let limiter: RateLimiter;
    if (config.redisUrl) {
      // Loaded only when configured: most instances have no Redis, and importing ioredis costs
      // a tenth of a second or more of start-up and some memory.
      const { Redis } = await import('ioredis');
      redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
      await redis.connect();
      // Keys are namespaced per schema so test apps sharing one Redis do not count against each other.
      limiter = new RedisRateLimiter(redis, `tessera:rl:${config.databaseSchema ?? 'default'}:`);
    } else {
      limiter = opts.worker?.limiter ?? new MemoryRateLimiter(() => clock.now());
    }
    const deps: Deps = {
      config, db: db.kysely, dialect: db.dialect, clock, log: app.log, limiter,
      sms: createSmsProvider(config, db.kysely, clock, app.log), mail: await createMailProvider(config, db.kysely, clock, app.log), keys, caches: new ReadCaches(db.changes, NOTIFYING_TABLES),
      metrics: metrics ?? noMetrics,
    };
    const services = createServices(deps, {
      webhookKey: await instanceSecret(db.kysely, 'webhook_key', sealer), idempotencyKey: await instanceSecret(db.kysely, 'idempotency_key', sealer),
      federationKey: await instanceSecret(db.kysely, 'federation_key', sealer),
    }, sealer);
    const csrfKey = await instanceSecret(db.kysely, 'csrf_key', sealer);
    const pruner = new Pruner(db.kysely, clock, app.log, { auditMs: config.auditRetentionMs });

    const routes: RouteEntry[] = [];
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
    });
    // Before any route: each route gets its metrics hook as it is registered.
    if (metrics) instrument(app, metrics);
    await app.register(formbody);
    // Before any route, so the document sees every one of them (openapi/openapi.ts).
    await registerOpenApi(app, config, VERSION);
    const portal = new Portal(services, csrfKey);
    surfaceErrors = bySurface({
      api: jsonErrorHandler, kandy: kandyErrorHandler, oauth: oauthErrorHandler, zaikio: zaikioErrorHandler,
      pages: (err, req, reply) => portal.renderError(req, reply, err, portalErrorPage),
    });
    renderErrorPage = (status, message) => page({ title: 'Error', csrf: '', showOutbox: false }, portalErrorPage.body(message, status));
    app.setErrorHandler(surfaceErrors);
    // On the root, before any plugin registers, so every route of every surface inherits it.
    app.addHook('preHandler', refuseNulCharacters);
    app.setNotFoundHandler((req, reply) => {
      if (metrics) reply.raw.once('finish', () => metrics.observeUnmatched(req, reply));
      return surfaceErrors(routerError({}, req), req, reply);
    });

    if (metrics) {
      metrics.watchQueues(db.kysely);
      // A worker's metrics are collected by the primary, which also serves METRICS_PORT.
      opts.worker?.exposeMetrics(metrics);
      const collect = opts.worker ? opts.worker.scrape : () => metrics.collect();
      if (config.metrics.port === undefined) {
        app.get('/metrics', { schema: { response: { 200: { description: 'Prometheus text format (README, Operating)', content: { 'text/plain': { schema: { type: 'string' } } } } } } }, async (_req, reply) => scrape(collect, reply));
      } else if (!opts.worker) {
        scrapes = await listenForScrapes(collect, config.host, config.metrics.port);
      }
    }

    app.get('/healthz', { schema: { response: { 200: Status('ok') } } }, async () => ({ status: 'ok' as const }));
    app.get('/readyz', { schema: { response: { 200: Status('ready'), 503: Status('unavailable') } } }, async (_req, reply) => {
      try {
        await ping(db);
        if (redis) await redis.ping();
        return { status: 'ready' };
      } catch {
        return reply.code(503).send({ status: 'unavailable' });
      }
    });
    app.get('/.well-known/jwks.json', { schema: { response: { 200: Jwks } } }, async (_req, reply) => {
      // publishedJwks() reloads when another process (another instance, `tessera keys rotate`)
      // has changed the keys, so an instance that only verifies never publishes a stale set.
      void reply.header('cache-control', 'public, max-age=300');
      return keys.publishedJwks();
    });

    await app.register(async (scope) => kaizalaRoutes(scope, services));
    await app.register(async (scope) => kandyRoutes(scope, services));
    await app.register(async (scope) => zaikioRoutes(scope, services));
    await app.register(async (scope) => platformApiRoutes(scope, services));
    // Cookies only where sessions live (the portal and the OAuth pages, which register the plugin
    // in their own scope): the bearer-token APIs neither read nor set them, and the plugin's hooks
    // would run on every one of their requests.
    await app.register(async (scope) => {
      await scope.register(cookie);
      await portalRoutes(scope, portal);
    });
    await app.register(async (scope) => oauthRoutes(scope, services, portal));
    // /{platform}/…: after every route of Tessera's own, whose static first segments win.
    await app.register(async (scope) => whiteLabelRoutes(scope, services, portal));
    // Static files need no session: outside the portal's scope, they cost no session lookup.
    await app.register(assetRoutes);

    app.addHook('onClose', async () => {
      await services.webhookDispatcher.stop();
      await pruner.stop();
      deps.mail.close?.();
      await db.close();
      if (redis) redis.disconnect();
      scrapes?.server.close();
    });
    // Background work starts last, once nothing above can fail and leave it running.
    services.webhookDispatcher.start();
    if (opts.worker?.prunes ?? true) pruner.start(config.pruneIntervalMs);
    return { app, services, db, routes, compiles, ...(scrapes ? { metricsPort: scrapes.port } : {}) };
  } catch (err) {
    scrapes?.server.close();
    await db.close();
    if (redis) redis.disconnect();
    throw err;
  }
}
