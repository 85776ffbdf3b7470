// The dependencies every service receives explicitly (no module-level singletons).
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { Config } from './config.js';
import type { DialectName } from './db/database.js';
import type { Database } from './db/schema.js';
import type { ReadCaches } from './db/read-cache.js';
import type { SigningKeys } from './keys/signing-keys.js';
import type { Clock } from './lib/clock.js';
import type { RateLimiter } from './lib/rate-limit.js';
import type { SmsProvider } from './sms/sms.js';
import type { MailProvider } from './mail/mail.js';
import type { Metrics } from './metrics/metrics.js';

export interface Deps {
  config: Config;
  db: Kysely<Database>;
  dialect: DialectName;
  clock: Clock;
  log: FastifyBaseLogger;
  limiter: RateLimiter;
  sms: SmsProvider;
  mail: MailProvider;
  keys: SigningKeys;
  /** In-process caches of hot reads, emptied by any change to the tables they read. */
  caches: ReadCaches;
  /** Prometheus metrics, or the no-op when METRICS=off. */
  metrics: Metrics;
}

/** Unique-constraint violations look different on each driver; this is the one place that knows. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string } | undefined;
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * A row refers to one that is gone (a project deleted while a user or token for it was being
 * written). SQLite reports it only with foreign_keys = ON, which openDatabase sets.
 */
export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string } | undefined;
  return e?.code === '23503' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
