// Configuration is read once from the environment, validated, typed and frozen.
// Every other module receives the Config object; nothing else reads process.env.
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { parseLoginProviders, ProviderConfigError, type LoginProviderConfig } from './federation/provider-config.js';

export type SmsProviderName = 'outbox' | 'http';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Base URL the outside world uses to reach Tessera, without a trailing slash. */
  readonly publicUrl: string;
  /** `sqlite:<path>` (embedded default) or `postgres://…`. */
  readonly databaseUrl: string;
  /** PostgreSQL schema to use (tests give each app its own); undefined means the default search_path. */
  readonly databaseSchema: string | undefined;
  /**
   * DATABASE_POOL_SIZE: PostgreSQL connections for queries per instance, its workers together
   * (each gets its share: poolShare); each process also holds one for the change feed.
   */
  readonly databasePoolSize: number;
  readonly redisUrl: string | undefined;
  readonly logLevel: string;
  readonly sms: {
    readonly provider: SmsProviderName;
    readonly httpUrl: string | undefined;
    readonly httpToken: string | undefined;
  };
  /**
   * E-mail: through SMTP when SMTP_URL is set (smtp:// or smtps://, credentials in the URL),
   * else kept in the development outbox. `from` is MAIL_FROM.
   */
  readonly mail: {
    readonly smtpUrl: string | undefined;
    readonly from: string;
  };
  /** Cookies get the Secure flag when the public URL is https. */
  readonly secureCookies: boolean;
  /** Development conveniences (SMS outbox page, loud warnings) are on unless NODE_ENV=production. */
  readonly production: boolean;
  /**
   * Whether webhook callbacks may target loopback and private addresses. Off in production, so a
   * connector cannot make Tessera call into its own network (SSRF); on in development and tests.
   */
  readonly webhookAllowPrivateTargets: boolean;
  /**
   * Which peers may say who the client is (X-Forwarded-For, -Proto, -Host), as Fastify's
   * trustProxy: false (the default: the TCP peer is the client), true (any peer), or the
   * addresses/CIDRs of the proxies. Trusting a header anyone can write would let a client pick
   * its own address and dodge every per-address limit.
   */
  readonly trustProxy: boolean | string[];
  /** How often expired rows are pruned (db/retention.ts), in milliseconds; 0 turns it off. */
  readonly pruneIntervalMs: number;
  /** How long audit entries are kept (AUDIT_RETENTION_DAYS, 365 by default), in milliseconds; 0 keeps them all. */
  readonly auditRetentionMs: number;
  /** 32 bytes that seal the signing keys and instance secrets at rest (keys/sealed.ts); none by default. */
  readonly masterKey: Buffer | undefined;
  /**
   * Prometheus metrics (METRICS=on|off, on by default) at /metrics, or only on METRICS_PORT
   * (HOST, its own listener) so the main port need not expose them.
   */
  readonly metrics: { readonly enabled: boolean; readonly port: number | undefined };
  /** Processes serving the port (`tessera start --workers N`): every CPU in production on PostgreSQL, else 1. */
  readonly workers: number;
  /** LOGIN_PROVIDERS: upstream identity providers people may sign in with (federation/provider-config.ts). */
  readonly loginProviders: readonly LoginProviderConfig[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name} must be a port number (0-65535), got "${raw}"`);
  return n;
}

function url(name: string, raw: string, protocols: string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL, got "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
  }
  return raw;
}

// proxy-addr's names for address ranges, accepted by Fastify's trustProxy.
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function trustProxy(raw: string | undefined): boolean | string[] {
  const value = (raw ?? '').trim();
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  // Fastify 5.12.1 dropped hop counts (they fail closed now): a count cannot tell whether the
  // immediate peer is a proxy at all, so a client connecting directly could forge the hops.
  // Refused here rather than silently trusting nobody.
  if (/^\d+$/.test(value)) {
    throw new ConfigError(`TRUST_PROXY cannot be a hop count ("${value}"): a count does not say which peer is a proxy; give the proxies' addresses or CIDRs (e.g. 10.0.0.0/8), or true`);
  }
  const entries = value.split(',').map((e) => e.trim());
  for (const entry of entries) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (!PROXY_RANGES.has(entry) && (!family || !prefixOk || rest.length)) {
      throw new ConfigError(`TRUST_PROXY must be true, false, or a comma-separated list of proxy addresses or CIDRs; "${entry}" is none of those`);
    }
  }
  return entries;
}

function seconds(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback * 1000;
  if (!/^\d+$/.test(raw) || Number(raw) > 2_000_000) throw new ConfigError(`${name} must be a whole number of seconds (0-2000000), got "${raw}"`);
  return Number(raw) * 1000;
}

function days(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback * 24 * 3600_000;
  if (!/^\d+$/.test(raw) || Number(raw) > 36_500) throw new ConfigError(`${name} must be a whole number of days (0-36500; 0 keeps everything), got "${raw}"`);
  return Number(raw) * 24 * 3600_000;
}

/** MASTER_KEY, or NEW_MASTER_KEY for `tessera master-key rotate`: 32 bytes in hex or base64. */
export function masterKey(raw: string | undefined, name = 'MASTER_KEY'): Buffer | undefined {
  if (raw === undefined || raw === '') return undefined;
  const value = raw.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(value) ? Buffer.from(value, 'base64') : undefined;
  if (key?.length !== 32) throw new ConfigError(`${name} must be 32 random bytes, as 64 hex digits or 43 base64 characters (openssl rand -base64 32)`);
  return key;
}

/** MAIL_FROM: `address` or `Name <address>`; by default no-reply at the public host. */
function mailFrom(raw: string | undefined, publicUrl: string): string {
  if (!raw) return `Tessera <no-reply@${new URL(publicUrl).hostname}>`;
  if (!/^([^<>\r\n]+ )?<?[^\s@<>]+@[^\s@<>]+>?$/.test(raw.trim())) throw new ConfigError('MAIL_FROM must be an e-mail address, or "Name <address>"');
  return raw.trim();
}

export const MAX_WORKERS = 256;
export const DEFAULT_DATABASE_POOL_SIZE = 10;

/**
 * One worker's PostgreSQL pool: an equal share of DATABASE_POOL_SIZE, at least two (one for a
 * transaction, one for what runs beside it). Without sharing, a worker per CPU on a 16-core
 * server would open 176 connections, past PostgreSQL's default max_connections of 100.
 */
export const poolShare = (poolSize: number, workers: number): number => Math.max(2, Math.ceil(poolSize / workers));

/** A number of worker processes, or `auto` for one per CPU. */
export function workerCount(name: string, raw: string | undefined, fallback: number): number {
  const text = (raw ?? '').trim().toLowerCase();
  if (text === '') return fallback;
  if (text === 'auto') return availableParallelism();
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) throw new ConfigError(`${name} must be a whole number from 1 to ${MAX_WORKERS}, or auto (one per CPU), got "${raw}"`);
  return n;
}

function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '') return fallback;
  if (raw === 'on' || raw === 'true') return true;
  if (raw === 'off' || raw === 'false') return false;
  throw new ConfigError(`${name} must be on or off, got "${env[name]}"`);
}

function loginProviders(raw: string | undefined): LoginProviderConfig[] {
  try {
    return parseLoginProviders(raw);
  } catch (err) {
    if (err instanceof ProviderConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const p = port(env, 'PORT', 8080);
  const host = env.HOST || '0.0.0.0';
  const publicUrl = url('PUBLIC_URL', env.PUBLIC_URL || `http://localhost:${p}`, ['http:', 'https:']).replace(/\/+$/, '');

  let databaseUrl = env.DATABASE_URL || 'sqlite:./data/tessera.db';
  if (!databaseUrl.startsWith('sqlite:')) databaseUrl = url('DATABASE_URL', databaseUrl, ['postgres:', 'postgresql:']);
  const databaseSchema = env.DATABASE_SCHEMA || undefined;
  if (databaseSchema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(databaseSchema)) {
    throw new ConfigError('DATABASE_SCHEMA must be a lower-case SQL identifier');
  }

  const poolRaw = (env.DATABASE_POOL_SIZE ?? '').trim();
  // At least two, as each worker's share is (poolShare).
  if (poolRaw !== '' && (!/^\d{1,4}$/.test(poolRaw) || Number(poolRaw) < 2 || Number(poolRaw) > 1000)) {
    throw new ConfigError(`DATABASE_POOL_SIZE must be a whole number of connections from 2 to 1000, got "${env.DATABASE_POOL_SIZE}"`);
  }
  const databasePoolSize = poolRaw === '' ? DEFAULT_DATABASE_POOL_SIZE : Number(poolRaw);

  const redisUrl = env.REDIS_URL ? url('REDIS_URL', env.REDIS_URL, ['redis:', 'rediss:']) : undefined;

  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const provider = (env.SMS_PROVIDER || 'outbox') as SmsProviderName;
  if (provider !== 'outbox' && provider !== 'http') throw new ConfigError('SMS_PROVIDER must be "outbox" or "http"');
  const httpUrl = env.SMS_HTTP_URL ? url('SMS_HTTP_URL', env.SMS_HTTP_URL, ['http:', 'https:']) : undefined;
  if (provider === 'http' && !httpUrl) throw new ConfigError('SMS_PROVIDER=http needs SMS_HTTP_URL');

  const config: Config = {
    port: p,
    host,
    publicUrl,
    databaseUrl,
    databaseSchema,
    databasePoolSize,
    redisUrl,
    logLevel,
    sms: { provider, httpUrl, httpToken: env.SMS_HTTP_TOKEN || undefined },
    mail: {
      smtpUrl: env.SMTP_URL ? url('SMTP_URL', env.SMTP_URL, ['smtp:', 'smtps:']) : undefined,
      from: mailFrom(env.MAIL_FROM, publicUrl),
    },
    secureCookies: publicUrl.startsWith('https:'),
    production: env.NODE_ENV === 'production',
    webhookAllowPrivateTargets: env.WEBHOOK_ALLOW_PRIVATE_TARGETS
      ? env.WEBHOOK_ALLOW_PRIVATE_TARGETS === 'true'
      : env.NODE_ENV !== 'production',
    trustProxy: trustProxy(env.TRUST_PROXY),
    pruneIntervalMs: seconds(env, 'PRUNE_INTERVAL_SECONDS', 3600),
    auditRetentionMs: days(env, 'AUDIT_RETENTION_DAYS', 365),
    masterKey: masterKey(env.MASTER_KEY),
    loginProviders: loginProviders(env.LOGIN_PROVIDERS),
    metrics: { enabled: onOff(env, 'METRICS', true), port: env.METRICS_PORT ? port(env, 'METRICS_PORT', 0) : undefined },
    // On SQLite, processes writing one file take turns at its lock and each commit empties the
    // others' page caches: measured, two workers wrote at a third of one's rate (docs/performance.md).
    workers: workerCount('WORKERS', env.WORKERS, env.NODE_ENV === 'production' && !databaseUrl.startsWith('sqlite:') ? availableParallelism() : 1),
    ...overrides,
  };
  return Object.freeze(config);
}
