// `tessera start --workers N`: this process forks N workers that share the port (node:cluster:
// the primary accepts connections and hands them round-robin to the workers) and keeps them
// running. It serves nothing itself; it
// - prepares the database once before any worker starts (migrations, the first signing key), so
//   workers never race to create them;
// - replaces a worker that dies, unless workers keep dying at start (then it gives up, exit 1);
// - on SIGHUP restarts the workers one at a time (a new one listening before an old one drains),
//   which also loads new code from disk: no request is refused or dropped;
// - on SIGTERM / SIGINT drains every worker and exits;
// - counts rate limits for all workers when there is no Redis (shared-limiter.ts);
// - aggregates the workers' metrics for /metrics or METRICS_PORT (prom-client's AggregatorRegistry).
// Caches stay coherent across workers as across instances: SQLite's data_version and
// PostgreSQL's change feed (db/change-feed.ts) already see other processes' writes.
import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import { pino, type Logger } from 'pino';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { Config } from '../config.js';
import { openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { SigningKeys } from '../keys/signing-keys.js';
import { Sealer } from '../keys/sealed.js';
import { systemClock } from '../lib/clock.js';
import { isToPrimary, type Ask, type ToWorker } from './ipc.js';
import { LimitAuthority } from './shared-limiter.js';
import { listenForScrapes } from '../metrics/server.js';

/** How long a draining worker may take to finish its requests before it is killed. */
const DRAIN_TIMEOUT_MS = 30_000;
/** A worker that dies sooner than this after starting counts towards giving up. */
const EARLY_DEATH_MS = 10_000;
const EARLY_DEATHS_ALLOWED = 5;

/** The slot a worker fills (0 … N-1): kept by its replacement; slot 0 runs the pruner. */
export const WORKER_SLOT_ENV = 'TESSERA_WORKER_SLOT';

interface Slot { worker: Worker; startedAt: number }

export class Primary {
  private readonly slots: (Slot | undefined)[];
  private readonly retiring = new Set<Worker>();
  private stopping = false;
  private restarting: Promise<void> | undefined;
  private earlyDeaths = 0;
  private readonly limits: LimitAuthority | undefined;
  private readonly metrics: AggregatorRegistry<typeof Registry.PROMETHEUS_CONTENT_TYPE> | undefined;
  private scrapeServer: Server | undefined;

  constructor(private readonly config: Config, private readonly count: number, private readonly log: Logger) {
    this.slots = new Array<Slot | undefined>(count).fill(undefined);
    this.limits = config.redisUrl ? undefined : new LimitAuthority(() => this.live());
    this.metrics = config.metrics.enabled ? new AggregatorRegistry() : undefined;
  }

  async start(): Promise<void> {
    await prepareDatabase(this.config);
    if (this.metrics && this.config.metrics.port !== undefined) this.scrapeServer = (await listenForScrapes(() => this.scrape(), this.config.host, this.config.metrics.port)).server;
    cluster.on('message', (worker, m: unknown) => { if (isToPrimary(m) && m.tessera === 'ask') void this.answer(worker, m); });
    cluster.on('exit', (worker, code, signal) => this.exited(worker, code, signal));
    await Promise.all(this.slots.map((_, i) => this.fill(i)));
    if (this.stopping) return;
    this.log.info({ workers: this.count, publicUrl: this.config.publicUrl }, 'Tessera is ready');
    process.on('SIGHUP', () => { void this.rollingRestart(); });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { void this.stop(signal); });
  }

  /** Each worker in turn: a replacement listening first, then the old one drained. */
  rollingRestart(): Promise<void> {
    this.restarting ??= (async () => {
      this.log.info({ workers: this.count }, 'rolling restart');
      for (let i = 0; i < this.slots.length && !this.stopping; i++) {
        const old = this.slots[i]?.worker;
        try {
          await this.fork(i);
        } catch (err) {
          // New code that does not start must not take the running workers down with it.
          this.log.error({ err }, 'rolling restart stopped: a new worker did not start; the running workers keep serving');
          return;
        }
        if (old) await this.drain(old);
      }
      this.log.info('rolling restart done');
    })().finally(() => { this.restarting = undefined; });
    return this.restarting;
  }

  private async stop(signal: string): Promise<void> {
    this.log.info({ signal }, 'shutting down: draining the workers');
    this.stopping = true;
    await Promise.all(this.live().map((w) => this.drain(w)));
    this.scrapeServer?.close();
    process.exit(0);
  }

  private live(): Worker[] {
    return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  }

  /** Forks a worker for a slot, which it takes once it listens; rejects if it exits before. */
  private fork(slot: number): Promise<void> {
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(slot) });
    const startedAt = Date.now();
    return new Promise<void>((resolve, reject) => {
      const died = (code: number | null, signal: string | null) => reject(new Error(`worker ${slot} exited (${signal ?? code}) before it listened`));
      worker.once('listening', () => {
        worker.off('exit', died);
        this.slots[slot] = { worker, startedAt };
        resolve();
      });
      worker.once('exit', died);
    });
  }

  /** Keeps a slot filled: forks until a worker listens, unless workers keep dying as they start. */
  private async fill(slot: number): Promise<void> {
    while (!this.stopping) {
      try {
        return await this.fork(slot);
      } catch (err) {
        if (!this.diedEarly(err as Error)) return;
      }
    }
  }

  /** Counts a worker that died young; past the allowance the primary gives up (exit 1) and answers false. */
  private diedEarly(err: Error): boolean {
    this.earlyDeaths++;
    if (this.earlyDeaths <= EARLY_DEATHS_ALLOWED) {
      this.log.error({ err }, 'worker died young: starting another');
      return true;
    }
    if (this.stopping) return false;
    this.log.fatal({ err }, `workers keep exiting as they start (${this.earlyDeaths} in a row): giving up`);
    this.stopping = true;
    for (const w of this.live()) w.kill('SIGTERM');
    this.scrapeServer?.close();
    setTimeout(() => process.exit(1), 500).unref();
    process.exitCode = 1;
    return false;
  }

  /** Asks a worker to finish and exit; kills it if it takes longer than DRAIN_TIMEOUT_MS. */
  private drain(worker: Worker): Promise<void> {
    this.retiring.add(worker);
    return new Promise<void>((resolve) => {
      if (worker.isDead()) return resolve();
      const timer = setTimeout(() => {
        this.log.warn({ pid: worker.process.pid }, 'worker did not finish draining in time: killed');
        worker.kill('SIGKILL');
      }, DRAIN_TIMEOUT_MS);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (worker.isConnected()) worker.send({ tessera: 'drain' } satisfies ToWorker);
      else worker.kill('SIGTERM');
    });
  }

  /** A listening worker exited unasked: its slot is filled again. (One that never listened is fork's to report.) */
  private exited(worker: Worker, code: number | null, signal: string | null): void {
    if (this.retiring.delete(worker) || this.stopping) return;
    const slot = this.slots.findIndex((s) => s?.worker === worker);
    if (slot < 0) return;
    if (Date.now() - this.slots[slot]!.startedAt < EARLY_DEATH_MS) {
      if (!this.diedEarly(new Error(`worker ${slot} exited (${signal ?? code}) soon after it started`))) return;
    } else {
      this.earlyDeaths = 0;
      this.log.error({ pid: worker.process.pid, code, signal, slot }, 'worker died: starting another');
    }
    void this.fill(slot);
  }

  private async answer(worker: Worker, q: Ask): Promise<void> {
    let reply: ToWorker;
    try {
      const value = q.op === 'metrics' ? await this.scrape() : await this.limits?.answer(q);
      reply = { tessera: 'answer', id: q.id, value };
    } catch (err) {
      reply = { tessera: 'answer', id: q.id, error: (err as Error).message };
    }
    if (worker.isConnected()) worker.send(reply);
  }

  private async scrape(): Promise<{ contentType: string; text: string }> {
    if (!this.metrics) throw new Error('metrics are off');
    return { contentType: this.metrics.contentType, text: await this.metrics.clusterMetrics() };
  }
}

/** Migrations and the first signing key, once, before the workers start. */
async function prepareDatabase(config: Config): Promise<void> {
  const db = await openDatabase(config);
  try {
    await migrateToLatest(db);
    await new SigningKeys(db.kysely, systemClock, { sealer: new Sealer(config.masterKey) }).init();
  } finally {
    await db.close();
  }
}

export async function runPrimary(config: Config, count: number, logStream?: NodeJS.WritableStream): Promise<Primary> {
  const log = pino({ level: config.logLevel, base: { pid: process.pid, role: 'primary' } }, logStream ?? process.stdout);
  const primary = new Primary(config, count, log);
  await primary.start();
  return primary;
}
