// Builds a Tessera for one test file: in-memory SQLite by default, or — when DATABASE_URL names
// PostgreSQL — a fresh schema of that database, dropped afterwards. The same suites run on both.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config.js';
import { buildApp, type Tessera } from '../../src/app.js';
import { dropSchema } from '../../src/db/database.js';
import { TestClock } from '../../src/lib/clock.js';
import { ContractCheck } from './contract.js';

export interface TestApp extends Tessera {
  clock: TestClock;
  config: Config;
  close(): Promise<void>;
}

export const onPostgres = (): boolean => /^postgres(ql)?:/.test(process.env.DATABASE_URL ?? '');

/**
 * One scrape of the app's /metrics: how many statements of a kind (`insert`, `select`, `with`…)
 * it has run successfully so far, to count what a request costs in statements.
 */
export async function statementCounts(t: Pick<TestApp, 'app'>): Promise<(kind: string) => number> {
  const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  return (kind) => Number(new RegExp(`^tessera_db_query_duration_seconds_count\\{statement="${kind}",outcome="ok"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}

export async function createTestApp(env: Record<string, string> = {}, overrides: Partial<Config> = {}, build: { logLevel?: string; logStream?: NodeJS.WritableStream } = {}): Promise<TestApp> {
  const pg = onPostgres();
  const schema = pg ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const config = loadConfig({
    PUBLIC_URL: 'http://tessera.test',
    DATABASE_URL: pg ? process.env.DATABASE_URL! : 'sqlite::memory:',
    ...(schema ? { DATABASE_SCHEMA: schema } : {}),
    LOG_LEVEL: 'silent',
    ...env,
  }, overrides);
  const clock = new TestClock();
  const tessera = await buildApp(config, { clock, logLevel: build.logLevel ?? process.env.TEST_LOG_LEVEL ?? 'silent', ...(build.logStream ? { logStream: build.logStream } : {}) });
  const contract = new ContractCheck();
  contract.attach(tessera.app);
  await tessera.app.ready();
  contract.load(tessera.app);
  return {
    ...tessera,
    clock,
    config,
    async close() {
      await tessera.app.close();
      if (schema) await dropSchema(config.databaseUrl, schema);
      if (contract.violations.size) throw new Error(`answers that do not match /openapi.json:\n${[...contract.violations].join('\n')}`);
    },
  };
}

/** Keeps what a test app's logger writes (pass `stream` as logStream), for tests that read the log. */
export class LogCapture {
  text = '';
  readonly stream = new Writable({ write: (chunk: Buffer, _enc, cb) => { this.text += chunk.toString(); cb(); } });

  /** Each line, parsed (pino writes one JSON object per line). */
  lines(): Record<string, unknown>[] {
    return this.text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}
