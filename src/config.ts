// Configuration is read once from the environment, validated, typed and frozen.
// Every other module receives the Config object; nothing else reads process.env.

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
  readonly redisUrl: string | undefined;
  readonly logLevel: string;
  readonly sms: {
    readonly provider: SmsProviderName;
    readonly httpUrl: string | undefined;
    readonly httpToken: string | undefined;
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
    redisUrl,
    logLevel,
    sms: { provider, httpUrl, httpToken: env.SMS_HTTP_TOKEN || undefined },
    secureCookies: publicUrl.startsWith('https:'),
    production: env.NODE_ENV === 'production',
    webhookAllowPrivateTargets: env.WEBHOOK_ALLOW_PRIVATE_TARGETS
      ? env.WEBHOOK_ALLOW_PRIVATE_TARGETS === 'true'
      : env.NODE_ENV !== 'production',
    ...overrides,
  };
  return Object.freeze(config);
}
