#!/usr/bin/env -S node --max-semi-space-size=8 --expose-gc
// tessera start | migrate | keys rotate | master-key rotate|remove | plans | prune
import { parseArgs } from 'node:util';
import { loadConfig, masterKey, ConfigError, workerCount } from './config.js';
import { developmentLogStream } from './http/logging.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { SigningKeys } from './keys/signing-keys.js';
import { SealError, Sealer } from './keys/sealed.js';
import { systemClock } from './lib/clock.js';
import { ApiError } from './lib/errors.js';
import type { PlansService } from './kandy/plans.service.js';
import cluster from 'node:cluster';
import { runPrimary } from './cluster/primary.js';

const USAGE = `usage: tessera <command>
  start [--workers N|auto]
                 run the server (applies pending migrations first) in N processes sharing
                 the port (default WORKERS: one per CPU in production on PostgreSQL, else 1);
                 SIGHUP restarts the workers one at a time, dropping no request
  migrate        apply pending database migrations and exit
  keys rotate    add a new signing key; older keys stay published until their tokens expire
  master-key rotate
                 seal the signing keys and instance secrets under NEW_MASTER_KEY instead of
                 MASTER_KEY (both set); then start every instance with the new key
  master-key remove
                 store them unsealed again (MASTER_KEY set); then start without MASTER_KEY
  plans          list and configure plans and their user quotas (tessera plans help)
  prune          delete expired sessions, codes and tokens now (the server also does this
                 every PRUNE_INTERVAL_SECONDS, an hour by default)`;

const PLANS_USAGE = `usage: tessera plans <command>
  list                                              each plan, its quota, and the accounts on it
  set <plan> [--max-users <n>] [--name <name>]      change a plan's quota or name; creates the plan
                                                    when it does not exist (then both are needed)
  assign <organisation> <plan>                      move an organisation's account to a plan; the
                                                    organisation by id or by account API key (AAK…)`;

/** A bad argument: named on stderr, exit status 2, nothing written. */
class UsageError extends Error {}

/** `start --workers N` (or `--workers=N`, `--workers auto`): overrides WORKERS. */
function workersOption(args: string[]): number | undefined {
  let parsed;
  try {
    parsed = parseArgs({ args, strict: true, allowPositionals: false, options: { workers: { type: 'string' } } });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  try {
    return parsed.values.workers === undefined ? undefined : workerCount('--workers', parsed.values.workers, 1);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

// The service names fields as its rules do; the command names them as its arguments are typed.
const ARGUMENT_NAMES: Record<string, string> = { max_users: '--max-users', name: '--name', plan: 'plan', organisation: 'organisation' };

const users = (n: number): string => `${n} user${n === 1 ? '' : 's'}`;
const OVER_NOTE = 'its users are kept, and new users are refused until it is under the limit';

async function plansCommand(plans: PlansService, args: string[]): Promise<string> {
  // parseArgs takes "--max-users -1" for a forgotten value followed by an option; it is a value
  // (a wrong one), and the operator should hear why it is wrong.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--max-users' && /^-[0-9]/.test(args[i + 1] ?? '')) joined.push(`--max-users=${args[++i]}`);
    else joined.push(args[i]!);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joined, allowPositionals: true, strict: true, options: { 'max-users': { type: 'string' }, name: { type: 'string' } } });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [sub, ...rest] = parsed.positionals;
  const { 'max-users': maxUsers, name } = parsed.values;
  const only = (allowed: string[]) => {
    const extra = [...(maxUsers === undefined ? [] : ['--max-users']), ...(name === undefined ? [] : ['--name'])].filter((o) => !allowed.includes(o));
    if (extra.length) throw new UsageError(`${extra[0]}: is not an option of "tessera plans ${sub}"`);
  };
  const positionals = (n: number, names: string[]) => {
    if (rest.length > n) throw new UsageError(`unexpected argument "${rest[n]}" (tessera plans ${sub} takes ${names.join(' and ')})`);
  };
  switch (sub) {
    case 'list': {
      only([]);
      positionals(0, ['no arguments']);
      const rows = (await plans.list()).map((p) => [p.id, p.name, String(p.max_users), String(p.accounts), String(p.accounts_over)]);
      const table = [['PLAN', 'NAME', 'USERS PER ACCOUNT', 'ACCOUNTS', 'OVER LIMIT'], ...rows];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
      // Text columns left-aligned, numbers right-aligned.
      return table.map((r) => r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd()).join('\n');
    }
    case 'set': {
      only(['--max-users', '--name']);
      positionals(1, ['a plan']);
      const { plan, previous, accountsOver } = await plans.set({ id: rest[0] ?? '', maxUsers, name });
      const was = previous && previous.max_users !== plan.max_users ? ` (was ${previous.max_users})` : '';
      const renamed = previous && previous.name !== plan.name ? `, renamed from ${previous.name}` : '';
      const lines = [`${previous ? 'plan' : 'created plan'} ${plan.id} (${plan.name}${renamed}): ${users(plan.max_users)} per account${was}`];
      if (accountsOver) lines.push(`note: ${accountsOver === 1 ? '1 account on this plan has' : `${accountsOver} accounts on this plan have`} more users than that; ${OVER_NOTE}`);
      return lines.join('\n');
    }
    case 'assign': {
      only([]);
      positionals(2, ['an organisation', 'a plan']);
      const r = await plans.assign(rest[0], rest[1]);
      const was = r.previousPlanId === undefined ? ' (new account)' : r.previousPlanId === r.plan.id ? ' (unchanged)' : `, was ${r.previousPlanId}`;
      const lines = [`organisation ${r.org.name} (${r.org.id}): plan ${r.plan.id} (${r.plan.name}, ${users(r.plan.max_users)} per account)${was}; ${users(r.usersUsed)} in use`];
      if (r.usersUsed > r.plan.max_users) lines.push(`note: the account has more users than the plan allows; ${OVER_NOTE}`);
      return lines.join('\n');
    }
    case 'help':
      return PLANS_USAGE;
    case undefined:
      throw new UsageError('');
    default:
      throw new UsageError(`unknown command "${sub}"`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, sub] = argv;
  const config = loadConfig();
  switch (command) {
    case 'start': {
      const started = performance.now();
      const workers = workersOption(argv.slice(1)) ?? config.workers;
      // A person at a terminal in development reads the log; production (and a pipe) gets JSON.
      const logStream = !config.production && process.stdout.isTTY ? await developmentLogStream() : undefined;
      if (cluster.isPrimary && workers > 1) {
        await runPrimary(config, workers, logStream);
        return -1;
      }
      // Loaded here, not above: a primary serves nothing and should not carry the app's modules.
      const [{ buildApp }, { closeConnectionsWhenDraining, workerRole }] = await Promise.all([import('./app.js'), import('./cluster/worker.js')]);
      // In a worker, the primary says when to drain; in a single process, a signal does.
      let drain = async (): Promise<void> => undefined;
      const stop = () => { void drain().then(() => process.exit(0)); };
      const worker = cluster.isWorker ? workerRole(config, workers, stop) : undefined;
      const { app } = await buildApp(config, { ...(logStream ? { logStream } : {}), ...(worker ? { worker } : {}) });
      drain = closeConnectionsWhenDraining(app).drain;
      if (config.sms.provider === 'outbox' && !config.production) {
        app.log.warn('SMS_PROVIDER=outbox: text messages are kept in the database and shown at /outbox (development only)');
      }
      // Building the app leaves garbage whose pages V8 would keep; one full collection before
      // serving returns ≈ 5 MB. `npm start` and the tessera command pass --expose-gc; started
      // another way, this is skipped.
      (globalThis as { gc?: () => void }).gc?.();
      await app.listen({ port: config.port, host: config.host });
      app.log.info({ publicUrl: config.publicUrl, readyMs: Math.round(performance.now() - started) }, worker ? 'worker is ready' : 'Tessera is ready');
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          app.log.info({ signal }, 'shutting down');
          stop();
        });
      }
      // A worker whose primary is gone has nobody to replace it or share its limits: it ends.
      if (worker) process.once('disconnect', stop);
      return -1;
    }
    case 'migrate': {
      const db = await openDatabase(config);
      try {
        const applied = await migrateToLatest(db);
        console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'keys': {
      if (sub !== 'rotate') break;
      const db = await openDatabase(config);
      try {
        await migrateToLatest(db);
        const keys = new SigningKeys(db.kysely, systemClock, { sealer: new Sealer(config.masterKey) });
        await keys.init();
        console.log(`new signing key: ${await keys.rotate()}`);
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'master-key': {
      if (sub !== 'rotate' && sub !== 'remove') break;
      if (!config.masterKey) throw new ConfigError(`set MASTER_KEY to the key the database is sealed with`);
      const next = sub === 'rotate' ? masterKey(process.env.NEW_MASTER_KEY, 'NEW_MASTER_KEY') : undefined;
      if (sub === 'rotate' && !next) throw new ConfigError('set NEW_MASTER_KEY to the new key (openssl rand -base64 32)');
      if (next?.equals(config.masterKey)) throw new ConfigError('NEW_MASTER_KEY is the key the database is sealed with already');
      const db = await openDatabase(config);
      try {
        await migrateToLatest(db);
        // Each command's modules load with it: the server's primary process carries none of them.
        const { resealAll } = await import('./keys/master-key.js');
        const n = await resealAll(db.kysely, new Sealer(config.masterKey), new Sealer(next), systemClock.now());
        console.log(`${sub === 'rotate' ? 'sealed under NEW_MASTER_KEY' : 'stored unsealed'}: ${n.signingKeys} signing key${n.signingKeys === 1 ? '' : 's'}, ${n.settings} instance secret${n.settings === 1 ? '' : 's'}, ${n.twoFactorSecrets} two-factor secret${n.twoFactorSecrets === 1 ? '' : 's'}, ${n.ibans} IBAN${n.ibans === 1 ? '' : 's'}`
          + `\nstart every instance with ${sub === 'rotate' ? 'MASTER_KEY set to the new key' : 'no MASTER_KEY'}`);
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'prune': {
      if (sub !== undefined) break;
      const db = await openDatabase(config);
      try {
        await migrateToLatest(db);
        const { prune } = await import('./db/retention.js');
        const counts = await prune(db.kysely, systemClock.now(), { auditMs: config.auditRetentionMs });
        const width = Math.max(...Object.keys(counts).map((t) => t.length));
        console.log(Object.entries(counts).map(([table, n]) => `${table.padEnd(width)}  ${n} deleted`).join('\n'));
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'plans': {
      const db = await openDatabase(config);
      try {
        await migrateToLatest(db);
        const { PlansService } = await import('./kandy/plans.service.js');
        console.log(await plansCommand(new PlansService({ db: db.kysely, clock: systemClock }), argv.slice(1)));
        return 0;
      } catch (err) {
        if (err instanceof UsageError) {
          console.error(err.message ? `tessera plans: ${err.message}\n${PLANS_USAGE}` : PLANS_USAGE);
          return 2;
        }
        // The service's validation and not-found errors are about an argument: name it as typed.
        if (err instanceof ApiError && err.status < 500) {
          const field = typeof err.details?.field === 'string' ? err.details.field : undefined;
          const message = field && ARGUMENT_NAMES[field] ? err.message.replace(new RegExp(`^${field}:`), `${ARGUMENT_NAMES[field]}:`) : err.message;
          console.error(`tessera plans: ${message}`);
          return 2;
        }
        throw err;
      } finally {
        await db.close();
      }
    }
  }
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exit(code);
}, (err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`tessera: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(err instanceof ConfigError || err instanceof SealError ? `configuration error: ${err.message}` : err);
  process.exit(1);
});
