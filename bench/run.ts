// npm run bench [-- --duration 10 --warmup 3 --connections 64 --postgres --profile --only id,id
//                   --oidc-format jwt|opaque --log-level warn|info --large --keep]
//
// One run on loopback: seed a fresh database, start Tessera, oidc-provider and a bare node:http
// server each in its own process, drive every scenario with autocannon at the same concurrency and
// duration after a warm-up, and write bench/results/latest.{md,json}. With --large, a small and a
// large seed run side by side and each scenario is measured on the two in alternating slices.
// Environment variables BENCH_DURATION, BENCH_WARMUP and BENCH_CONNECTIONS set the same defaults as the flags.
import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { dropSchema } from '../src/db/database.js';
import { countRotations, databaseSize, DEFAULT_SIZE, LARGE_SIZE, MEASURED_ROUNDS, seed, type Seeded, type SeedSize } from './seed.js';
import { freePort, httpStatus, npmStartArgs, perfRecord, procCpuMs, procMemMb, startServer, type Server } from './procs.js';
import { cycler, runLoad, type LoadFigures } from './load.js';
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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
  const pass = { label, size, startedAt, target, servers, tmp, results: [], notes: [], rotations: [] } as unknown as Pass;
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
      name: 'tessera-2w', args: [...profiling, ...startCommand(2)], env: { ...tesseraEnv, PORT: String(workersPort) }, port: workersPort, readyPath: '/readyz', discardStdout,
    });
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

/**
 * Measures scenario `index` on each pass (one, or a --large run's two): on the single process,
 * then (Tessera's) on two workers. With two passes the measured time is cut into slices taken in
 * turn (small, large, small, large…): on a shared virtual machine the host's speed drifts by tens
 * of percent within a minute, and alternating puts that drift on both sides of the comparison.
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
  const slices = passes.length > 1 ? 4 : 1;
  const measure = async (round: number): Promise<LoadFigures[]> => {
    const servers = passes.map((pass) => pass.servers[round ? 'tessera-2w' : scenario.server]!);
    const own = passes.map((pass) => pass.scenarios[index]!);
    for (const [k, server] of servers.entries()) {
      if (own[k]!.prime) await runLoad({ url: server.baseUrl, connections, amount: own[k]!.prime!(), ...own[k]!.options('warmup', round) });
      if (warmupS > 0) await runLoad({ url: server.baseUrl, connections, duration: warmupS, ...own[k]!.options('warmup', round) });
    }
    const parts: LoadFigures[][] = passes.map(() => []);
    const cpu = passes.map(() => 0);
    const measuredFrom = Date.now();
    for (let slice = 0; slice < slices; slice++) {
      for (const [k, server] of servers.entries()) {
        const cpuBefore = procCpuMs(server.pid);
        const perf = args.perf && slices === 1 && scenario.server === 'tessera' ? perfRecord(server.pid, join(root, 'bench/.tmp/perf', `${scenario.id}${round ? '-2w' : ''}.data`)) : undefined;
        parts[k]!.push(await runLoad({ url: server.baseUrl, connections, duration: durationS / slices, ...own[k]!.options('measure', round) }));
        if (perf) await perf.stop();
        // Every process of the server: a primary and its workers.
        cpu[k]! += procCpuMs(server.pid) - cpuBefore;
      }
    }
    const out: LoadFigures[] = [];
    for (const [k, pass] of passes.entries()) {
      const f = combine(parts[k]!, cpu[k]!);
      if (scenario.id === 'token-exchange') pass.rotations[round] = await countRotations(pass.target, measuredFrom);
      log(`${pass.label}${scenario.id}${round ? ' (2 workers)' : ''}: ${f.rps} req/s, p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, errors ${f.errors}, non-2xx ${f.non2xx}, server CPU ${f.cpuMsPerRequest} ms/req`);
      out.push(f);
    }
    // Let the servers settle (GC, WAL checkpoint) so one scenario's tail does not land in the next.
    await sleep(1000);
    return out;
  };
  const single = await measure(0);
  for (const [k, r] of results.entries()) r.figures = single[k];
  if (scenario.server === 'tessera') {
    const two = await measure(1);
    for (const [k, r] of results.entries()) r.workers2 = two[k];
  }
}

/** One server's slices of a measurement as one figure: rates and CPU over the whole, p50 the slices' median, p99 and max the worst slice's. */
function combine(parts: LoadFigures[], cpuMs: number): LoadFigures {
  const sum = (pick: (f: LoadFigures) => number) => parts.reduce((n, f) => n + pick(f), 0);
  const requests = sum((f) => f.requests);
  const durationSum = sum((f) => f.durationS);
  const p50s = parts.map((f) => f.p50Ms).sort((a, b) => a - b);
  return {
    requests,
    rps: Math.round(requests / durationSum),
    p50Ms: p50s[Math.floor((p50s.length - 1) / 2)]!,
    p99Ms: Math.max(...parts.map((f) => f.p99Ms)),
    maxMs: Math.max(...parts.map((f) => f.maxMs)),
    errors: sum((f) => f.errors),
    non2xx: sum((f) => f.non2xx),
    durationS: durationSum,
    cpuMsPerRequest: Math.round((cpuMs / Math.max(1, requests)) * 1000) / 1000,
    ...(parts.length > 1 ? { sliceRps: parts.map((f) => f.rps) } : {}),
  };
}

/** The pass's report; its servers' figures (peak RSS) are read here, so call it before closePass. */
function passReport(pass: Pass): RunReport {
  const notes = [...pass.notes];
  if (pass.rotations[0] === 0 && pass.results.some((r) => r.id === 'token-exchange' && r.figures)) {
    notes.push('No refresh token was rotated during scenario 1 (none was due).');
  }
  const servers: ServerFigures[] = [];
  for (const name of ['tessera', 'tessera-2w', 'oidc-provider', 'ceiling'] as const) {
    const s = pass.servers[name]!;
    servers.push({
      name, readyMs: s.readyMs, ...(name === 'tessera' ? { firstStartReadyMs: pass.firstReadyMs } : {}), idleRssMb: s.idleRssMb, peakRssMb: s.peakRssMb(),
      endRssAnonMb: procMemMb(s.pid, 'RssAnon'), endRssFileMb: procMemMb(s.pid, 'RssFile'),
    });
  }
  return {
    startedAt: pass.startedAt,
    machine: machine(),
    commit: gitCommit(),
    settings: { connections, durationS, warmupS, database: args.postgres ? 'postgres' : 'sqlite', loadGenerator: 'autocannon 9 (in-process, one thread)', oidcTokenFormat: args['oidc-format'], logLevel: args['log-level'] },
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
      for (const i of small.scenarios.keys()) await measureScenario(passes, i);
      const reports = passes.map(passReport);
      text = largeMarkdown(reports[0]!, reports[1]!);
      json = { small: reports[0], large: reports[1] };
    } finally {
      for (const pass of passes) await closePass(pass);
    }
  } else {
    const pass = await preparePass(DEFAULT_SIZE, '');
    try {
      for (const i of pass.scenarios.keys()) await measureScenario([pass], i);
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
  const totals = { on: { requests: 0, cpu: 0, seconds: 0 }, off: { requests: 0, cpu: 0, seconds: 0 } };
  let last: LoadFigures | undefined;
  try {
    for (const round of [0, 1]) {
      for (const [name, server] of [['on', on], ['off', off]] as const) {
        if (round === 0 && scenario.prime) await runLoad({ url: server.baseUrl, connections, amount: scenario.prime(), ...scenario.options('warmup', 0) });
        if (warmupS > 0) await runLoad({ url: server.baseUrl, connections, duration: warmupS, ...scenario.options('warmup', 0) });
        const cpuBefore = procCpuMs(server.pid);
        const f = await runLoad({ url: server.baseUrl, connections, duration: durationS / 2, ...scenario.options('measure', 0) });
        totals[name].requests += f.requests;
        totals[name].cpu += procCpuMs(server.pid) - cpuBefore;
        totals[name].seconds += durationS / 2;
        if (name === 'off' && round === 1) last = f;
        await sleep(500);
      }
    }
  } finally {
    await on.stop();
    await off.stop();
  }
  const rps = (t: { requests: number; seconds: number }) => Math.round(t.requests / t.seconds);
  const cpu = (t: { requests: number; cpu: number }) => Math.round((t.cpu / Math.max(1, t.requests)) * 1000) / 1000;
  const f = result.figures = { ...last!, rps: rps(totals.off), cpuMsPerRequest: cpu(totals.off) };
  log(`${label}${scenario.id}: metrics on ${rps(totals.on)} req/s (${cpu(totals.on)} ms CPU/req), off ${rps(totals.off)} req/s (${cpu(totals.off)} ms CPU/req)`);
  notes.push(`Metrics cost in the platform read, two fresh processes alternating on/off/on/off: ${(100 * (1 - rps(totals.on) / rps(totals.off))).toFixed(1)}% of the rate (${rps(totals.on)} against ${rps(totals.off)} req/s), ${(100 * (cpu(totals.on) / cpu(totals.off) - 1)).toFixed(1)}% more CPU per request (${cpu(totals.on)} against ${cpu(totals.off)} ms); errors ${f.errors}, non-2xx ${f.non2xx}.`);
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
