// npm run bench [-- --duration 10 --warmup 3 --connections 64 --postgres --profile --only id,id
//                   --oidc-format jwt|opaque --log-level warn|info --large --keep --versus KEY=VALUE]
//
// One run on loopback: seed a fresh database, start Tessera, oidc-provider and a bare node:http
// server each in its own process, drive every scenario with autocannon at the same concurrency and
// duration after a warm-up, and write bench/results/latest.{md,json}. With --large, a small and a
// large seed run side by side and each scenario is measured on the two in alternating slices.
// With --versus, a second Tessera process with other environment variables is measured beside the first.
// Environment variables BENCH_DURATION, BENCH_WARMUP and BENCH_CONNECTIONS set the same defaults as the flags.
import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ROW_TTL_MS } from '../src/db/read-cache.js';
import { dropSchema } from '../src/db/database.js';
import { countRotations, databaseSize, DEFAULT_SIZE, LARGE_SIZE, MEASURED_ROUNDS, seed, type Seeded, type SeedSize } from './seed.js';
import { freePort, httpStatus, npmStartArgs, perfRecord, procCpuMs, procMemMb, procParent, procStorageReadBytes, startServer, type Server } from './procs.js';
import { cycler, figures, runLoad, type LoadFigures, type LoadRun, type Usage } from './load.js';
import { buildScenarios, type Scenario, type ScenarioInputs, type ServerName } from './scenarios.js';
import { gitCommit, largeMarkdown, machine, markdown, type RunReport, type ScenarioResult, type ServerFigures } from './report.js';
import { seedOAuth } from './oauth.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: process.env.BENCH_DURATION ?? '10' },
    warmup: { type: 'string', default: process.env.BENCH_WARMUP ?? '3' },
    connections: { type: 'string', default: process.env.BENCH_CONNECTIONS ?? '64' },
    postgres: { type: 'boolean', default: false },
    'postgres-url': { type: 'string', default: process.env.BENCH_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test' },
    profile: { type: 'boolean', default: false },
    // `perf record -g` on Tessera during each measured run (JS frames named by --perf-basic-prof).
    perf: { type: 'boolean', default: false },
    only: { type: 'string' },
    'oidc-format': { type: 'string', default: 'jwt' },
    // Tessera's LOG_LEVEL; `info` logs every request (to measure what request logging costs).
    'log-level': { type: 'string', default: 'warn' },
    // Production data sizes (seed.ts LARGE_SIZE), run beside the small seed in the same invocation.
    large: { type: 'boolean', default: false },
    // KEY=VALUE[,KEY=VALUE…]: a second single Tessera process with these environment variables,
    // measured in turn with the first in every Tessera scenario: what a setting changes, with the
    // host's drift on both sides (e.g. --versus UV_THREADPOOL_SIZE=1).
    versus: { type: 'string' },
    // Leave the databases in place afterwards (the SQLite files, the PostgreSQL schemas), to read
    // their query plans; the log says where they are.
    keep: { type: 'boolean', default: false },
    // Where the report goes; by default bench/results, the recorded run, but only for a run of
    // every scenario without a profiler: a partial or profiled run goes to bench/.tmp/results.
    out: { type: 'string' },
  },
});
const durationS = Number(args.duration);
const warmupS = Number(args.warmup);
const connections = Number(args.connections);
const only = args.only ? new Set(args.only.split(',')) : undefined;
const versusEnv = args.versus ? Object.fromEntries(args.versus.split(',').map((kv) => {
  const at = kv.indexOf('=');
  if (at < 1) throw new Error(`--versus takes KEY=VALUE pairs, not ${kv}`);
  return [kv.slice(0, at), kv.slice(at + 1)];
})) : undefined;
if (versusEnv && args.large) throw new Error('--versus compares two processes on one seed; --large compares two seeds: one at a time');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The workers of `tessera-2w`, measured beside the single process. */
const TWO_WORKERS = 2;

/** `npm start`'s arguments and the number of worker processes (production's default is one per CPU: named, so runs compare). */
const startCommand = (workers = 1): string[] => [...npmStartArgs(root), '--workers', String(workers)];
const log = (msg: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** One seed with its servers running: what a pass measures against, and what it has measured so far. */
interface Pass {
  label: string;
  size: SeedSize;
  startedAt: string;
  /** The database, as seed.ts's helpers take it (databaseSchema: PostgreSQL's fresh schema). */
  target: { databaseUrl: string; databaseSchema?: string };
  seeded: Seeded;
  databaseMb: number;
  tesseraEnv: Record<string, string>;
  discardStdout: boolean;
  firstReadyMs: number;
  servers: Partial<Record<ServerName, Server>>;
  inputs: ScenarioInputs;
  scenarios: Scenario[];
  results: ScenarioResult[];
  notes: string[];
  /** Refresh tokens the token service rotated in scenario 1's measured run, by measured Tessera. */
  rotations: number[];
  /** A peer's slices taken alongside the Tessera scenarios that name it (measureScenario), for its own row. */
  alongside: Map<string, { runs: LoadRun[]; usage: Usage; with: string[] }>;
  tmp: string;
}

/** Seeds a database of `size` and starts every server against it. */
async function preparePass(size: SeedSize, label: string): Promise<Pass> {
  const startedAt = new Date().toISOString();
  const tmp = join(root, 'bench/.tmp', `run-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  const schema = args.postgres ? `bench_${randomBytes(4).toString('hex')}` : undefined;
  const databaseUrl = args.postgres ? args['postgres-url'] : `sqlite:${join(tmp, 'tessera.db')}`;
  const target = { databaseUrl, ...(schema ? { databaseSchema: schema } : {}) };
  const servers: Partial<Record<ServerName, Server>> = {};
  // The rest is filled in as the pass is prepared; closePass needs only what is set here.
  const pass = { label, size, startedAt, target, servers, tmp, results: [], notes: [], rotations: [], alongside: new Map() } as unknown as Pass;
  try {
    log(`${label}seeding ${args.postgres ? `PostgreSQL schema ${schema}` : databaseUrl}`);
    const seeded = pass.seeded = await seed(target, size, (m) => log(`  ${m}`));
    pass.databaseMb = await databaseSize(target);
    log(`${label}database size ${pass.databaseMb} MB`);
    log(`${label}seeded ${JSON.stringify(seeded.counts)} in ${seeded.seedMs} ms`);

    const tesseraPort = await freePort();
    const tesseraEnv = pass.tesseraEnv = {
      PORT: String(tesseraPort), HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${tesseraPort}`,
      DATABASE_URL: databaseUrl, ...(schema ? { DATABASE_SCHEMA: schema } : {}),
      // Request logs at info would measure pino and the terminal, not Tessera: warn by default.
      LOG_LEVEL: args['log-level'], NODE_ENV: 'production',
    };
    // Tessera runs exactly as `npm start` runs it (its Node flags included), plus the profiler.
    const profiling = [
      ...(args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(root, 'bench/.tmp/profiles')}`] : []),
      ...(args.perf ? ['--perf-basic-prof'] : []),
    ];
    // The first start generates the signing key; the measured start is on an existing database.
    const first = await startServer({ name: 'tessera', args: startCommand(), env: tesseraEnv, port: tesseraPort, readyPath: '/readyz' });
    await first.stop();
    pass.firstReadyMs = first.readyMs;
    const discardStdout = pass.discardStdout = !['warn', 'error', 'fatal', 'silent'].includes(args['log-level']);
    const tessera = servers.tessera = await startServer({ name: 'tessera', args: [...profiling, ...startCommand()], env: tesseraEnv, port: tesseraPort, readyPath: '/readyz', discardStdout });
    log(`${label}tessera ready in ${tessera.readyMs} ms (first start ${first.readyMs} ms), idle RSS ${tessera.idleRssMb} MB`);

    const oidcPort = await freePort();
    const oidcClient = { id: 'bench-client', secret: 'bench-client-secret-0123456789abcdef' };
    // As many refresh-token families as Tessera's scenario 2 has in one round (capped: minting is at start-up).
    const oidcRefreshFile = join(tmp, 'oidc-refresh-tokens.json');
    servers['oidc-provider'] = await startServer({
      name: 'oidc-provider', args: [join(root, 'bench/peers/oidc.mjs')], port: oidcPort, readyPath: '/.well-known/openid-configuration', timeoutMs: 120_000,
      env: {
        PORT: String(oidcPort), HOST: '127.0.0.1', NODE_ENV: 'production', OIDC_CLIENT_ID: oidcClient.id, OIDC_CLIENT_SECRET: oidcClient.secret, OIDC_TOKEN_FORMAT: args['oidc-format'],
        OIDC_REFRESH_TOKENS: String(Math.min(seeded.grants.length, 10_000)), OIDC_REFRESH_TOKENS_FILE: oidcRefreshFile,
      },
    });
    const oidcTokens = JSON.parse(readFileSync(oidcRefreshFile, 'utf8')) as string[];
    const oidcRefresh = { warmup: oidcTokens.slice(0, oidcTokens.length / 4), measure: oidcTokens.slice(oidcTokens.length / 4) };
    // The same Tessera with two workers, measured after the single process in each scenario (issue 17).
    const workersPort = await freePort();
    servers['tessera-2w'] = await startServer({
      name: 'tessera-2w', args: [...profiling, ...startCommand(TWO_WORKERS)], env: { ...tesseraEnv, PORT: String(workersPort) }, port: workersPort, readyPath: '/readyz', discardStdout,
    });
    if (versusEnv) {
      const versusPort = await freePort();
      servers['tessera-versus'] = await startServer({
        name: 'tessera-versus', args: [...profiling, ...startCommand()], env: { ...tesseraEnv, ...versusEnv, PORT: String(versusPort) }, port: versusPort, readyPath: '/readyz', discardStdout,
      });
    }
    const ceilingPort = await freePort();
    servers.ceiling = await startServer({ name: 'ceiling', args: [join(root, 'bench/peers/ceiling.mjs')], port: ceilingPort, readyPath: '/', env: { PORT: String(ceilingPort), HOST: '127.0.0.1' } });

    // Scenarios 2 and 3 need Tessera's OAuth server; without it /oauth/token answers 404.
    const inputs: ScenarioInputs = pass.inputs = { grants: seeded.grants, accessTokens: new Map(), oidcClient, oidcRefresh };
    if (await httpStatus(`${tessera.baseUrl}/oauth/token`, 'POST') === 404) {
      inputs.oauthUnavailable = 'this build has no /oauth/token';
    } else {
      const oauth = await seedOAuth({ ...target, grants: seeded.grants, ownerId: seeded.ownerId, rounds: MEASURED_ROUNDS });
      if ('unavailable' in oauth) inputs.oauthUnavailable = oauth.unavailable;
      else inputs.oauth = oauth;
    }
    pass.scenarios = buildScenarios(inputs).filter((sc) => !only || only.has(sc.id));
    return pass;
  } catch (err) {
    await closePass(pass);
    throw err;
  }
}

/** A server driven with one scenario's requests in a measurement, and what it answered. */
interface Side {
  pass: Pass;
  scenario: Scenario;
  /** The scenario's round: 0 is the single process (and any peer), 1 the two workers. */
  round: number;
  server: Server;
  /** Where `--perf` records this side, when it is Tessera's. */
  perfFile?: string;
  runs: LoadRun[];
  usage: Usage;
}

/** A side's usage before any run: on PostgreSQL the database server's too. */
const noUsage = (): Usage => ({ cpuMs: 0, reads: [], ...(databasePid ? { db: { cpuMs: 0, reads: 0 } } : {}) });

/**
 * The PostgreSQL server's postmaster, whose process tree (every backend, autovacuum, the
 * checkpointer) the bench reads CPU and storage reads from, as it does Tessera's. main() looks it
 * up for --postgres: a backend's parent is the postmaster, when the server runs on this machine.
 */
let databasePid: number | undefined;
async function findDatabasePid(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    return procParent(rows[0]!.pid);
  } catch {
    // Not on this machine (or not readable): the report leaves the database's columns out.
    return undefined;
  } finally {
    await client.end();
  }
}

/** The slices a measurement is cut into, and the pause after each (one side's tail of collections or checkpoints stays out of the next side's slice). */
const SLICES = 4;
const SLICE_PAUSE_MS = 250;

/**
 * One pass over a side's pool before its warm-up (Scenario.prime): every grant, client or group
 * is then in the server's caches, whatever its cold rate.
 */
async function prime({ server, scenario, round }: Side): Promise<void> {
  if (!scenario.prime) return;
  // Every worker keeps caches of its own, and the primary hands each new connection to the next
  // worker in turn, so a pass over 64 connections primed each worker with about half the pool
  // (the two-worker platform read then spent its first slices reading a fifth of its grants from
  // PostgreSQL). With workers, each gets a pass of its own: one run per worker, each on a single
  // connection (hence on one worker), pipelined for concurrency.
  const workers = server.name === 'tessera-2w' ? TWO_WORKERS : 1;
  for (let w = 0; w < workers; w++) {
    const options = { ...(scenario.primeOptions?.(round) ?? scenario.options('prime', round)), amount: scenario.prime() };
    const primed = await runLoad({ url: server.baseUrl, ...(workers > 1 ? { connections: 1, pipelining: 16 } : { connections }), ...options });
    if (primed.errors || primed.non2xx) log(`${server.name} ${scenario.id}: priming met ${primed.errors} errors and ${primed.non2xx} non-2xx answers`);
  }
}

/**
 * Measures the sides in turn: each is primed (prime) and warmed up, then the measured time is cut into
 * `slices` taken in turn (a, b, c, c, b, a…). On a shared virtual machine the host's speed drifts by
 * tens of percent within a minute (one build measured twice in a row has differed by more than
 * half), and alternating puts that drift on every side of a comparison alike.
 */
async function measureSides(sides: Side[], slices: number): Promise<void> {
  // Tessera's cached rows expire between three quarters of ROW_TTL_MS and all of it after they
  // were read (read-cache.ts). The sides are primed at once, so that none has older rows than
  // another, and a measurement whose slices end after the first rows may have expired says so:
  // its sides then measured some of their rows read again.
  const primedAt = Date.now();
  await Promise.all(sides.map(prime));
  for (const { server, scenario, round } of sides) {
    if (warmupS > 0) await runLoad({ url: server.baseUrl, connections, duration: warmupS, ...scenario.options('warmup', round) });
  }
  for (let slice = 0; slice < slices; slice++) {
    // Every other slice in the reverse order (a, b, b, a…): a side's wake (its collections, the
    // host's reaction to its load) lands on the next side alike, and a drift within the slice too.
    for (const side of slice % 2 ? [...sides].reverse() : sides) {
      const cpuBefore = procCpuMs(side.server.pid);
      const readBefore = procStorageReadBytes(side.server.pid);
      const dbBefore = databasePid && [procCpuMs(databasePid), procStorageReadBytes(databasePid)];
      const perf = side.perfFile && slices === 1 ? perfRecord(side.server.pid, side.perfFile) : undefined;
      side.runs.push(await runLoad({ url: side.server.baseUrl, connections, duration: durationS / slices, ...side.scenario.options('measure', side.round) }));
      if (perf) await perf.stop();
      // Every process of the server: a primary and its workers.
      side.usage.cpuMs += procCpuMs(side.server.pid) - cpuBefore;
      side.usage.reads.push(procStorageReadBytes(side.server.pid) - readBefore);
      if (dbBefore && side.usage.db) {
        side.usage.db.cpuMs += procCpuMs(databasePid!) - dbBefore[0]!;
        side.usage.db.reads += procStorageReadBytes(databasePid!) - dbBefore[1]!;
      }
      if (slices > 1) await sleep(SLICE_PAUSE_MS);
    }
  }
  const tookMs = Date.now() - primedAt;
  if (tookMs > ROW_TTL_MS * 0.75) {
    const note = `${sides.map((s) => `${s.server.name} ${s.scenario.id}`).join(', ')}: the slices ended ${(tookMs / 1000).toFixed(0)} s after priming began, when cached rows may have expired (read-cache.ts): some of them were read again within the slices.`;
    log(note);
    sides[0]!.pass.notes.push(note);
  }
}

/**
 * Measures scenario `index`. With one pass, a Tessera scenario is measured in slices taken in turn
 * with its two-worker run and its peer (oidc-provider doing the same grant, or the ceiling for the
 * read) when that is in the run, so each ratio the report gives compares slices taken seconds, not
 * minutes, apart; the peer's own row is then filled from those slices. With two passes (--large)
 * the slices alternate between the small and the large seed instead, the single process first and
 * then the two workers.
 */
async function measureScenario(passes: Pass[], index: number): Promise<void> {
  const scenario = passes[0]!.scenarios[index]!;
  const results: ScenarioResult[] = [];
  for (const pass of passes) {
    if (scenario.id.startsWith('platform-')) await ensureAccessTokens(pass.servers.tessera!, pass.inputs);
    const result: ScenarioResult = { id: scenario.id, title: scenario.title, server: scenario.server, kind: scenario.kind, ...(scenario.peer ? { peer: scenario.peer } : {}) };
    pass.results.push(result);
    results.push(result);
    if (scenario.unavailable) log(`${pass.label}${scenario.id}: not available (${scenario.unavailable})`);
  }
  if (scenario.unavailable) {
    for (const r of results) r.unavailable = scenario.unavailable;
    return;
  }
  if (scenario.server === 'tessera-no-metrics') {
    for (const [k, pass] of passes.entries()) await metricsCost(pass.scenarios[index]!, results[k]!, pass);
    await sleep(1000);
    return;
  }
  const side = (pass: Pass, round: number, own = pass.scenarios[index]!, name: ServerName = round ? 'tessera-2w' : own.server): Side => ({
    pass, scenario: own, round, server: pass.servers[name]!, runs: [], usage: noUsage(),
    // With --large, each seed's file is named after it: large-oauth-refresh-2w.data.
    ...(args.perf && own.server === 'tessera' ? { perfFile: join(root, 'bench/.tmp/perf', `${passes.length > 1 ? `${pass.label.slice(1, -2)}-` : ''}${own.id}${name === own.server ? '' : name.slice('tessera'.length)}.data`) } : {}),
  });
  const rounds = scenario.server === 'tessera' ? [0, 1] : [0];
  if (passes.length > 1) {
    for (const round of rounds) {
      const sides = passes.map((pass) => side(pass, round));
      const from = Date.now();
      await measureSides(sides, args.perf ? 1 : SLICES);
      for (const [k, s] of sides.entries()) await record(s, results[k]!, from);
      await sleep(1000);
    }
    return;
  }
  const pass = passes[0]!;
  const result = results[0]!;
  const earlier = pass.alongside.get(scenario.id);
  if (earlier) {
    result.figures = figures(earlier.runs, earlier.usage);
    log(`${scenario.id}: measured alongside ${earlier.with.join(' and ')}: ${summary(result.figures)}`);
    return;
  }
  const peer = scenario.server === 'tessera' ? pass.scenarios.find((s) => s.id === scenario.peer && !s.unavailable) : undefined;
  const versus = scenario.server === 'tessera' && pass.servers['tessera-versus'] ? side(pass, 0, scenario, 'tessera-versus') : undefined;
  const sides = [...rounds.map((round) => side(pass, round)), ...(versus ? [versus] : []), ...(peer ? [side(pass, 0, peer)] : [])];
  const from = Date.now();
  // A profiler's run is one piece per side: perf records a side's run into a file of its own.
  await measureSides(sides, args.perf ? 1 : SLICES);
  for (const s of sides) {
    if (s === versus) {
      result.versus = figures(s.runs, s.usage);
      log(`${scenario.id} (--versus ${args.versus}): ${summary(result.versus)}`);
      continue;
    }
    if (s.scenario !== peer) {
      await record(s, result, from);
      continue;
    }
    const f = figures(s.runs, s.usage);
    result.against = { id: peer.id, figures: f };
    log(`${peer.id} (alongside ${scenario.id}): ${summary(f)}`);
    const kept = pass.alongside.get(peer.id);
    pass.alongside.set(peer.id, kept ? { runs: [...kept.runs, ...s.runs], usage: addUsage(kept.usage, s.usage), with: [...kept.with, scenario.id] } : { runs: s.runs, usage: s.usage, with: [scenario.id] });
  }
  // Let the servers settle (GC, WAL checkpoint) so one scenario's tail does not land in the next.
  await sleep(1000);
}

const addUsage = (a: Usage, b: Usage): Usage => ({
  cpuMs: a.cpuMs + b.cpuMs,
  reads: [...a.reads, ...b.reads],
  ...(a.db && b.db ? { db: { cpuMs: a.db.cpuMs + b.db.cpuMs, reads: a.db.reads + b.db.reads } } : {}),
});

/**
 * Each Tessera's resident high-water mark after a scenario, so a report's peak can be traced to the
 * scenario that set it, and its own memory now (RssAnon: heap and native, not mapped files): what
 * it still holds, against what it only passed through.
 */
function logPeaks(passes: Pass[], index: number): void {
  for (const pass of passes) {
    const peaks = (['tessera', 'tessera-2w'] as const).flatMap((name) => {
      const s = pass.servers[name];
      return s ? [`${name} ${s.peakRssMb()} MB (own memory now ${procMemMb(s.pid, 'RssAnon')} MB)`] : [];
    });
    log(`${pass.label}after ${pass.scenarios[index]!.id}: peak RSS ${peaks.join(', ')}`);
  }
}

const summary = (f: LoadFigures): string =>
  `${f.rps} req/s, p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, errors ${f.errors}, non-2xx ${f.non2xx}, server CPU ${f.cpuMsPerRequest} ms/req${f.readKbPerRequest ? `, ${f.readKbPerRequest} KB/req read from storage (by slice: ${f.sliceReadKb?.join(' / ') ?? '–'} KB)` : ''}${f.dbCpuMsPerRequest === undefined ? '' : `, PostgreSQL ${f.dbCpuMsPerRequest} ms CPU/req and ${f.dbReadKbPerRequest} KB/req read`}${f.sliceRps ? ` (slices ${f.sliceRps.join(' / ')})` : ''}`;

/** A side's figures into its scenario's result: the single process's, or the two workers'. */
async function record(s: Side, result: ScenarioResult, measuredFrom: number): Promise<void> {
  const f = figures(s.runs, s.usage);
  if (s.round) result.workers2 = f;
  else result.figures = f;
  if (s.scenario.id === 'token-exchange') {
    // Each round has due grants of its own (seed.ts), so the count is of that round's.
    const due = s.pass.seeded.grants.filter((g) => g.dueInRound === s.round).map((g) => g.grantId);
    s.pass.rotations[s.round] = await countRotations(s.pass.target, measuredFrom, due);
  }
  log(`${s.pass.label}${s.scenario.id}${s.round ? ' (2 workers)' : ''}: ${summary(f)}`);
}

/** The pass's report; its servers' figures (peak RSS) are read here, so call it before closePass. */
function passReport(pass: Pass): RunReport {
  const notes = [...pass.notes];
  if (pass.rotations[0] === 0 && pass.results.some((r) => r.id === 'token-exchange' && r.figures)) {
    notes.push('No refresh token was rotated during scenario 1 (none was due).');
  }
  const servers: ServerFigures[] = [];
  for (const name of ['tessera', 'tessera-2w', 'tessera-versus', 'oidc-provider', 'ceiling'] as const) {
    const s = pass.servers[name];
    if (!s) continue;
    servers.push({
      name, readyMs: s.readyMs, ...(name === 'tessera' ? { firstStartReadyMs: pass.firstReadyMs } : {}), idleRssMb: s.idleRssMb, peakRssMb: s.peakRssMb(),
      endRssAnonMb: procMemMb(s.pid, 'RssAnon'), endRssFileMb: procMemMb(s.pid, 'RssFile'),
    });
  }
  return {
    startedAt: pass.startedAt,
    machine: machine(),
    commit: gitCommit(),
    settings: { connections, durationS, warmupS, slices: args.perf ? 1 : SLICES, database: args.postgres ? 'postgres' : 'sqlite', loadGenerator: 'autocannon 9 (in-process, one thread)', ...(args.versus ? { versus: args.versus } : {}), oidcTokenFormat: args['oidc-format'], logLevel: args['log-level'] },
    seed: { counts: pass.seeded.counts, seedMs: pass.seeded.seedMs, databaseMb: pass.databaseMb, active: { grants: pass.size.activeGrants, groups: pass.size.activeGroups } },
    notes,
    servers,
    scenarios: pass.results,
    rotations: pass.rotations,
    rotationsDue: pass.seeded.grants.filter((g) => g.dueInRound === 0).length,
  };
}

async function closePass(pass: Pass): Promise<void> {
  for (const s of Object.values(pass.servers)) await s?.stop();
  const { databaseUrl, databaseSchema } = pass.target;
  if (args.keep) {
    log(`${pass.label}kept ${databaseSchema ? `schema ${databaseSchema} of ${databaseUrl}` : databaseUrl}`);
    return;
  }
  if (databaseSchema) await dropSchema(databaseUrl, databaseSchema).catch(() => undefined);
  rmSync(pass.tmp, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const out = args.out ?? join(root, only || args.profile || args.perf ? 'bench/.tmp/results' : 'bench/results');
  mkdirSync(out, { recursive: true });
  // A PostgreSQL run and a large run keep their own files, so they do not replace the recorded SQLite run.
  const base = `latest${args.large ? '-large' : ''}${args.postgres ? '-postgres' : ''}`;
  if (args.postgres) databasePid = await findDatabasePid(args['postgres-url']);
  let text: string;
  let json: unknown;
  if (args.large) {
    // Both seeds are up at once and each scenario alternates between them (measureScenario): the
    // host's speed drifts by tens of percent over minutes, so a comparison is only as good as the
    // time between its two halves.
    const small = await preparePass(DEFAULT_SIZE, '[small] ');
    const passes = [small];
    try {
      const large = await preparePass(LARGE_SIZE, '[large] ');
      passes.push(large);
      // Seeding leaves gigabytes of dirty pages; the kernel writing them back would slow the first scenarios.
      execSync('sync');
      for (const i of small.scenarios.keys()) {
        await measureScenario(passes, i);
        logPeaks(passes, i);
      }
      const reports = passes.map(passReport);
      text = largeMarkdown(reports[0]!, reports[1]!);
      json = { small: reports[0], large: reports[1] };
    } finally {
      for (const pass of passes) await closePass(pass);
    }
  } else {
    const pass = await preparePass(DEFAULT_SIZE, '');
    try {
      for (const i of pass.scenarios.keys()) {
        await measureScenario([pass], i);
        logPeaks([pass], i);
      }
      const report = passReport(pass);
      text = markdown(report);
      json = report;
    } finally {
      await closePass(pass);
    }
  }
  writeFileSync(join(out, `${base}.json`), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(out, `${base}.md`), text);
  log(`wrote ${join(out, `${base}.md`)}`);
  console.log(`\n${text}`);
}

/**
 * What the metrics cost, like with like: two fresh Tessera processes on the same database, one
 * with METRICS=off, the same read driven at each in turn (on, off, on, off), so neither has the
 * other's history (the main instance has served four scenarios by then, and its heap shows it).
 * The scenario's figures are the METRICS=off rounds'; the note compares the sums.
 */
async function metricsCost(scenario: Scenario, result: ScenarioResult, pass: Pass): Promise<void> {
  const { tesseraEnv: env, discardStdout, notes, label } = pass;
  const start = async (metrics: 'on' | 'off') => {
    const port = await freePort();
    // The same PUBLIC_URL: it is the tokens' issuer and audience, not where this one listens.
    return startServer({ name: `tessera-metrics-${metrics}`, args: startCommand(), port, readyPath: '/readyz', discardStdout, env: { ...env, PORT: String(port), METRICS: metrics } });
  };
  const on = await start('on');
  const off = await start('off');
  const sides = [on, off].map((server): Side => ({ pass, scenario, round: 0, server, runs: [], usage: noUsage() }));
  try {
    await measureSides(sides, 2);
  } finally {
    await on.stop();
    await off.stop();
  }
  const [withMetrics, f] = sides.map((s) => figures(s.runs, s.usage)) as [LoadFigures, LoadFigures];
  result.figures = f;
  const cpu = (x: LoadFigures) => x.cpuMsPerRequest ?? 0;
  log(`${label}${scenario.id}: metrics on ${withMetrics.rps} req/s (${cpu(withMetrics)} ms CPU/req), off ${f.rps} req/s (${cpu(f)} ms CPU/req)`);
  notes.push(`Metrics cost in the platform read, two fresh processes alternating on/off/on/off: ${(100 * (1 - withMetrics.rps / f.rps)).toFixed(1)}% of the rate (${withMetrics.rps} against ${f.rps} req/s), ${(100 * (cpu(withMetrics) / cpu(f) - 1)).toFixed(1)}% more CPU per request (${cpu(withMetrics)} against ${cpu(f)} ms); errors ${f.errors}, non-2xx ${f.non2xx}.`);
}

/**
 * Scenarios 4 and 5 need one access token per grant. They come from the token service itself (an
 * unmeasured pass over every grant), so they are exactly what a connector would hold.
 */
async function ensureAccessTokens(tessera: Server, inputs: ScenarioInputs): Promise<void> {
  if (inputs.accessTokens.size) return;
  const started = performance.now();
  const next = cycler(inputs.grants);
  const f = await runLoad({
    url: tessera.baseUrl, connections, amount: inputs.grants.length,
    requests: [{
      method: 'GET', path: '/v1/accessToken',
      setupRequest: (req, ctx) => {
        const g = next();
        ctx.grant = g;
        return { ...req, headers: { applicationid: g.connectorId, applicationsecret: g.connectorSecret, refreshtoken: g.refreshToken } };
      },
      onResponse: (status, body, ctx) => {
        if (status !== 200) return;
        const answer = JSON.parse(body) as { accessToken: string; refreshToken: string };
        const g = ctx.grant as ScenarioInputs['grants'][number];
        inputs.accessTokens.set(g.grantId, answer.accessToken);
        if (answer.refreshToken) g.refreshToken = answer.refreshToken;
      },
    }],
  });
  log(`issued ${inputs.accessTokens.size} access tokens in ${Math.round(performance.now() - started)} ms (${f.non2xx} refused)`);
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
