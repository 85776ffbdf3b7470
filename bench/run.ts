// npm run bench [-- --duration 10 --warmup 3 --connections 64 --postgres --profile --only id,id
//                   --oidc-format jwt|opaque --log-level warn|info --large]
//
// One run on loopback: seed a fresh database, start Tessera, oidc-provider and a bare node:http
// server each in its own process, drive every scenario with autocannon at the same concurrency and
// duration after a warm-up, and write bench/results/latest.{md,json}. Environment variables
// BENCH_DURATION, BENCH_WARMUP and BENCH_CONNECTIONS set the same defaults as the flags.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { dropSchema } from '../src/db/database.js';
import { countRotations, databaseSize, DEFAULT_SIZE, LARGE_SIZE, seed, type SeedSize } from './seed.js';
import { freePort, httpStatus, npmStartArgs, perfRecord, procCpuMs, startServer, type Server } from './procs.js';
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
    // Production data sizes (seed.ts LARGE_SIZE), run after the small seed in the same invocation.
    large: { type: 'boolean', default: false },
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

/** One seed, every scenario: the report of a pass (a --large run makes two, small then large). */
async function runPass(size: SeedSize): Promise<RunReport> {
  const startedAt = new Date().toISOString();
  const tmp = join(root, 'bench/.tmp', `run-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  const schema = args.postgres ? `bench_${randomBytes(4).toString('hex')}` : undefined;
  const databaseUrl = args.postgres ? args['postgres-url'] : `sqlite:${join(tmp, 'tessera.db')}`;
  const notes: string[] = [];
  const servers: Partial<Record<ServerName, Server>> = {};
  const serverFigures: ServerFigures[] = [];

  try {
    log(`seeding ${args.postgres ? `PostgreSQL schema ${schema}` : databaseUrl}`);
    const seeded = await seed({ databaseUrl, ...(schema ? { databaseSchema: schema } : {}) }, size, (m) => log(`  ${m}`));
    const databaseMb = await databaseSize({ databaseUrl, ...(schema ? { databaseSchema: schema } : {}) });
    log(`database size ${databaseMb} MB`);
    log(`seeded ${JSON.stringify(seeded.counts)} in ${seeded.seedMs} ms`);

    const tesseraPort = await freePort();
    const tesseraEnv = {
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
    const tesseraArgs = [...profiling, ...startCommand()];
    // The first start generates the signing key; the measured start is on an existing database.
    const first = await startServer({ name: 'tessera', args: startCommand(), env: tesseraEnv, port: tesseraPort, readyPath: '/readyz' });
    await first.stop();
    const discardStdout = !['warn', 'error', 'fatal', 'silent'].includes(args['log-level']);
    const tessera = servers.tessera = await startServer({ name: 'tessera', args: tesseraArgs, env: tesseraEnv, port: tesseraPort, readyPath: '/readyz', discardStdout });
    log(`tessera ready in ${tessera.readyMs} ms (first start ${first.readyMs} ms), idle RSS ${tessera.idleRssMb} MB`);

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
    const inputs: ScenarioInputs = { grants: seeded.grants, accessTokens: new Map(), oidcClient, oidcRefresh };
    if (await httpStatus(`${tessera.baseUrl}/oauth/token`, 'POST') === 404) {
      inputs.oauthUnavailable = 'this build has no /oauth/token';
    } else {
      const oauth = await seedOAuth({ databaseUrl, ...(schema ? { databaseSchema: schema } : {}), grants: seeded.grants, ownerId: seeded.ownerId, rounds: 2 });
      if ('unavailable' in oauth) inputs.oauthUnavailable = oauth.unavailable;
      else inputs.oauth = oauth;
    }

    const results: ScenarioResult[] = [];
    let rotations = 0;
    for (const scenario of buildScenarios(inputs)) {
      if (only && !only.has(scenario.id)) continue;
      if (scenario.id.startsWith('platform-')) await ensureAccessTokens(tessera, inputs);
      const result: ScenarioResult = { id: scenario.id, title: scenario.title, server: scenario.server, kind: scenario.kind, ...(scenario.peer ? { peer: scenario.peer } : {}) };
      results.push(result);
      if (scenario.unavailable) {
        result.unavailable = scenario.unavailable;
        log(`${scenario.id}: not available (${scenario.unavailable})`);
        continue;
      }
      if (scenario.server === 'tessera-no-metrics') {
        await metricsCost(scenario, result, tesseraEnv, discardStdout, notes);
        await sleep(1000);
        continue;
      }
      const measure = async (server: Server, round: number): Promise<LoadFigures> => {
        const url = server.baseUrl;
        if (scenario.prime) await runLoad({ url, connections, amount: scenario.prime(), ...scenario.options('warmup', round) });
        if (warmupS > 0) await runLoad({ url, connections, duration: warmupS, ...scenario.options('warmup', round) });
        const cpuBefore = procCpuMs(server.pid);
        const measuredFrom = Date.now();
        const perf = args.perf && round === 0 && scenario.server === 'tessera' ? perfRecord(server.pid, join(root, 'bench/.tmp/perf', `${scenario.id}.data`)) : undefined;
        const f = await runLoad({ url, connections, duration: durationS, ...scenario.options('measure', round) });
        if (perf) await perf.stop();
        // Every process of the server: a primary and its workers.
        f.cpuMsPerRequest = Math.round(((procCpuMs(server.pid) - cpuBefore) / Math.max(1, f.requests)) * 1000) / 1000;
        if (scenario.id === 'token-exchange' && round === 0) rotations = await countRotations({ databaseUrl, ...(schema ? { databaseSchema: schema } : {}) }, measuredFrom);
        log(`${scenario.id}${round ? ' (2 workers)' : ''}: ${f.rps} req/s, p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, errors ${f.errors}, non-2xx ${f.non2xx}, server CPU ${f.cpuMsPerRequest} ms/req`);
        // Let the server settle (GC, WAL checkpoint) so one scenario's tail does not land in the next.
        await sleep(1000);
        return f;
      };
      result.figures = await measure(servers[scenario.server]!, 0);
      if (scenario.server === 'tessera') result.workers2 = await measure(servers['tessera-2w']!, 1);
    }
    if (rotations === 0 && results.some((r) => r.id === 'token-exchange' && r.figures)) {
      notes.push('No refresh token was rotated during scenario 1 (none was due).');
    }

    for (const name of ['tessera', 'tessera-2w', 'oidc-provider', 'ceiling'] as const) {
      const s = servers[name]!;
      serverFigures.push({ name, readyMs: s.readyMs, ...(name === 'tessera' ? { firstStartReadyMs: first.readyMs } : {}), idleRssMb: s.idleRssMb, peakRssMb: s.peakRssMb() });
    }

    const report: RunReport = {
      startedAt,
      machine: machine(),
      commit: gitCommit(),
      settings: { connections, durationS, warmupS, database: args.postgres ? 'postgres' : 'sqlite', loadGenerator: 'autocannon 9 (in-process, one thread)', oidcTokenFormat: args['oidc-format'], logLevel: args['log-level'] },
      seed: { counts: seeded.counts, seedMs: seeded.seedMs, databaseMb },
      notes,
      servers: serverFigures,
      scenarios: results,
      rotations,
      rotationsDue: seeded.grants.filter((g) => g.rotationDue).length,
    };
    return report;
  } finally {
    for (const s of Object.values(servers)) await s?.stop();
    if (schema) await dropSchema(databaseUrl, schema).catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const out = args.out ?? join(root, only || args.profile || args.perf ? 'bench/.tmp/results' : 'bench/results');
  mkdirSync(out, { recursive: true });
  // A PostgreSQL run and a large run keep their own files, so they do not replace the recorded SQLite run.
  const base = `latest${args.large ? '-large' : ''}${args.postgres ? '-postgres' : ''}`;
  let text: string;
  let json: unknown;
  if (args.large) {
    log('pass 1 of 2: the small seed');
    const small = await runPass(DEFAULT_SIZE);
    log('pass 2 of 2: the large seed');
    const large = await runPass(LARGE_SIZE);
    text = largeMarkdown(small, large);
    json = { small, large };
  } else {
    const report = await runPass(DEFAULT_SIZE);
    text = markdown(report);
    json = report;
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
async function metricsCost(scenario: Scenario, result: ScenarioResult, env: Record<string, string>, discardStdout: boolean, notes: string[]): Promise<void> {
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
  log(`${scenario.id}: metrics on ${rps(totals.on)} req/s (${cpu(totals.on)} ms CPU/req), off ${rps(totals.off)} req/s (${cpu(totals.off)} ms CPU/req)`);
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
