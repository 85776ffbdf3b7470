// One worker of `tessera start --workers N` (primary.ts): rate limits counted by the primary
// when there is no Redis, /metrics answered with every worker's metrics, the pruner in slot 0
// only, and a drain on the primary's word that drops no request.
import { Server as NetServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { AggregatorRegistry } from 'prom-client';
import { poolShare, type Config } from '../config.js';
import type { DatabaseShare } from '../db/database.js';
import type { RateLimiter } from '../lib/rate-limit.js';
import type { PrometheusMetrics } from '../metrics/metrics.js';
import { PrimaryLine } from './ipc.js';
import { WORKER_SLOT_ENV } from './primary.js';
import { SharedRateLimiter } from './shared-limiter.js';

/** What buildApp does differently in a worker (app.ts BuildOptions). */
export interface WorkerRole {
  /** Rate limits shared with the other workers; undefined when Redis shares them. */
  limiter: RateLimiter | undefined;
  /** Every worker's metrics, aggregated by the primary. */
  scrape(): Promise<{ contentType: string; text: string }>;
  /** Lets the primary collect this worker's metrics. */
  exposeMetrics(metrics: PrometheusMetrics): void;
  /** Whether this worker runs the periodic pruner (one worker is enough). */
  prunes: boolean;
  /** Its share of DATABASE_POOL_SIZE, beside the other workers writing the same database. */
  database: DatabaseShare;
}

/** How long a drain waits for clients to close their connections before closing idle ones. */
const DRAIN_GRACE_MS = 1000;

export function workerRole(config: Config, workers: number, onDrain: () => void): WorkerRole {
  const primary = new PrimaryLine((m) => {
    if (m.tessera === 'drain') onDrain();
    else limiter?.heard(m);
  });
  // Messages arrive only after this returns, so the handler above may name it.
  const limiter = config.redisUrl ? undefined : new SharedRateLimiter(primary);
  return {
    limiter,
    scrape: () => primary.ask({ op: 'metrics' }),
    exposeMetrics(metrics) {
      AggregatorRegistry.setRegistries([metrics.registry]);
      // Constructing one installs prom-client's listener for the primary's requests.
      new AggregatorRegistry();
    },
    prunes: process.env[WORKER_SLOT_ENV] === '0',
    database: { poolSize: poolShare(config.databasePoolSize, workers), writers: workers },
  };
}

/**
 * Before listening: once draining, every answer says `Connection: close`, so a client finishes
 * its request and reconnects — to another worker, since this one stopped accepting.
 */
export function closeConnectionsWhenDraining(app: FastifyInstance): { drain(): Promise<void> } {
  let draining = false;
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (draining) void reply.header('connection', 'close');
    done(null, payload);
  });
  return {
    async drain() {
      if (draining) return;
      draining = true;
      // Stop accepting without closing idle keep-alive connections at once (http.Server.close
      // would, racing a client that is just sending on one): give clients a moment to finish.
      NetServer.prototype.close.call(app.server);
      const until = Date.now() + DRAIN_GRACE_MS;
      while (Date.now() < until && (await connections(app)) > 0) await new Promise((r) => setTimeout(r, 20));
      await app.close();
    },
  };
}

const connections = (app: FastifyInstance) => new Promise<number>((resolve) => app.server.getConnections((err, n) => resolve(err ? 0 : n)));
