// npm run bench:instructions [-- --requests 5000 --warmup 5000 --repeat 1 --grants 20]
//
// What metrics cost, counted in instructions instead of seconds. On a shared virtual machine two
// timed runs of the same build differ by ±20%, far more than the 3% to be shown; valgrind's
// callgrind counts the instructions a process executes, which does not depend on what else the
// machine is doing. So: Tessera's app, built as `npm start` builds it, under callgrind, answers W
// platform reads (the warm-up: routes compiled, caches filled, V8's optimising compiler done: at
// 500 reads it was still most of the difference) and exits; the
// same again answering W + N. The difference of the two totals is what N requests cost; start-up
// and exit cancel. Both with METRICS=on and METRICS=off, each `--repeat` times, interleaved.
//
// The reads go through app.inject, one at a time, with V8 single-threaded
// (bench/instructions-driver.mjs): over sockets, where requests arrive is up to the kernel, and
// with them which requests share a turn of the event loop, when the collector runs and what the
// compiler decides; counts then varied by ±20% between repeats (a major collection alone is
// ≈ 70M instructions). The path differs from a socket's (light-my-request's objects instead of
// the HTTP parser and socket writes; such a read counted ≈ 445k instructions against ≈ 190k over a
// socket), so the report gives what metrics add to a read, the same work on either path, in
// instructions as well as its share.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seed } from './seed.js';
import { freePort, npmStartArgs, startServer } from './procs.js';
import { gitCommit, machine } from './report.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000' },
    warmup: { type: 'string', default: '5000' },
    repeat: { type: 'string', default: '1' },
    // Few grants, each read many times: the regions' one-minute expiry is wall time, and a
    // process fifty times slower under valgrind would otherwise refill them as the run goes on,
    // more in a longer run, which the difference of two runs would count as per-request work.
    grants: { type: 'string', default: '20' },
    out: { type: 'string', default: join(root, 'bench/results/metrics-instructions.md') },
  },
});
const N = Number(args.requests);
const W = Number(args.warmup);
const repeat = Number(args.repeat);
const grantCount = Number(args.grants);
const log = (msg: string): void => console.log(`[instructions ${new Date().toISOString().slice(11, 19)}] ${msg}`);

const nodeFlags = (): string[] => npmStartArgs(root).filter((a) => a.startsWith('--'));

const valgrindVersion = (): string => execFileSync('valgrind', ['--version'], { encoding: 'utf8' }).trim().replace(/^valgrind-/, '');

interface Read { path: string; token: string }

/**
 * V8 on one thread, with no memory reducer (it collects on a timer) and an old space large enough
 * that no full collection falls inside the runs (its timing follows measured speeds, which under
 * valgrind are wall-clock noise): repeats of one run then agree to ≈ 0.1% per request.
 */
const DETERMINISTIC = ['--single-threaded', '--no-memory-reducer', '--initial-old-space-size=1024'];

/** One callgrind run: build the app, answer `amount` reads, exit; the process's total instruction count. */
async function countRun(metrics: 'on' | 'off', amount: number, readsFile: string, env: Record<string, string>, outFile: string): Promise<number> {
  // Its own copy of the database: two runs on one file would empty each other's caches.
  const file = `${outFile}.db`;
  copyFileSync(env.DATABASE_URL!.slice('sqlite:'.length), file);
  const child = spawn('valgrind', [
    '--tool=callgrind', `--callgrind-out-file=${outFile}`, process.execPath, ...nodeFlags(), ...DETERMINISTIC, join(root, 'bench/instructions-driver.mjs'),
  ], {
    env: { PATH: process.env.PATH ?? '', ...env, DATABASE_URL: `sqlite:${file}`, METRICS: metrics, READS_FILE: readsFile, AMOUNT: String(amount) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? -1)));
  if (code !== 0) throw new Error(`the driver under valgrind exited ${code}:\n${stderr}`);
  const total = /^summary: (\d+)$/m.exec(readFileSync(outFile, 'utf8'));
  if (!total) throw new Error(`no summary in ${outFile}`);
  return Number(total[1]);
}

async function main(): Promise<void> {
  const tmp = join(root, 'bench/.tmp', `instructions-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  const databaseUrl = `sqlite:${join(tmp, 'tessera.db')}`;
  log(`seeding ${databaseUrl}`);
  const seeded = await seed({ databaseUrl });
  const port = await freePort();
  const env = {
    HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${port}`, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', NODE_ENV: 'production',
  };

  // Access tokens from the token service itself, by a normal (not instrumented) start that also
  // makes the signing key: each counted start then finds an existing database, as in production.
  const reads: Read[] = [];
  const issuer = await startServer({ name: 'tessera', args: npmStartArgs(root), env: { ...env, PORT: String(port) }, port, readyPath: '/readyz' });
  try {
    const grants = seeded.grants.slice(0, Math.min(seeded.grants.length, grantCount));
    for (const g of grants) {
      const res = await fetch(`${issuer.baseUrl}/v1/accessToken`, { headers: { applicationid: g.connectorId, applicationsecret: g.connectorSecret, refreshtoken: g.refreshToken } });
      if (res.status !== 200) throw new Error(`token exchange answered ${res.status}`);
      const { accessToken } = await res.json() as { accessToken: string };
      reads.push({ path: `/v1/groups/${g.groupId}/members`, token: accessToken });
    }
  } finally {
    // Its exit checkpoints the WAL into the file, which each counted run then copies.
    await issuer.stop();
  }
  const readsFile = join(tmp, 'reads.json');
  writeFileSync(readsFile, JSON.stringify(reads));
  log(`${reads.length} access tokens; counting ${repeat} × (W=${W}, W+N=${W + N}) × metrics on/off under callgrind`);

  // Interleaved so that nothing that drifts (the database file's pages, the WAL) favours one side.
  const totals: Record<'on' | 'off', { short: number[]; long: number[] }> = { on: { short: [], long: [] }, off: { short: [], long: [] } };
  for (let i = 0; i < repeat; i++) {
    for (const metrics of ['on', 'off'] as const) {
      // Two at a time, one per core: counts do not depend on the other's load.
      const [short, long] = await Promise.all([
        countRun(metrics, W, readsFile, env, join(tmp, `cg-${metrics}-${i}-short.out`)),
        countRun(metrics, W + N, readsFile, env, join(tmp, `cg-${metrics}-${i}-long.out`)),
      ]);
      totals[metrics].short.push(short);
      totals[metrics].long.push(long);
      log(`metrics ${metrics} #${i + 1}: ${short} (W) ${long} (W+N) → ${Math.round((long - short) / N)} instructions a request`);
    }
  }

  const perRequest = (m: 'on' | 'off') => totals[m].long.map((l, i) => (l - totals[m].short[i]!) / N);
  const on = perRequest('on');
  const off = perRequest('off');
  // The median: a run now and then pays for a major collection or a re-optimisation that its
  // pair did not (one such run in four measured ≈ 35% above the others).
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const cost = median(on) / median(off) - 1;
  // The widest the figure can be, pairing every 'on' repeat with every 'off' one.
  const pairs = on.flatMap((a) => off.map((b) => a / b - 1));
  const fmt = (x: number) => `${(100 * x).toFixed(2)}%`;
  const k = (x: number) => Math.round(x).toLocaleString('en-US');
  const m = machine();
  const text = [
    '# What metrics cost, in instructions',
    '',
    `Run ${new Date().toISOString()} at commit \`${gitCommit()}\` with \`npm run bench:instructions\`.`,
    '',
    `Machine: ${m.nproc} CPUs, ${m.cpu}, Node.js ${m.node}, ${m.os}; valgrind ${valgrindVersion()}.`,
    `Tessera's app as \`npm start\` builds it (its Node flags, NODE_ENV=production, LOG_LEVEL=warn, SQLite seeded as in \`npm run bench\`) under`,
    `\`valgrind --tool=callgrind\`, V8 single-threaded; the platform read \`GET /v1/groups/{id}/members\` (20 members) through`,
    `app.inject, one at a time, cycling over ${reads.length} grants (a working set that stays cached). Each figure: the instructions of`,
    `a run answering W + N = ${W + N} reads minus those of a run answering W = ${W}, divided by N = ${N}.`,
    '',
    '| METRICS | instructions a request (each repeat) | median |',
    '|---|---|--:|',
    `| on | ${on.map(k).join(', ')} | ${k(median(on))} |`,
    `| off | ${off.map(k).join(', ')} | ${k(median(off))} |`,
    '',
    `**Metrics add ${k(median(on) - median(off))} instructions to a platform read: ${fmt(cost)} of what it takes here** (every on/off pairing: ${fmt(Math.min(...pairs))} to ${fmt(Math.max(...pairs))}; target: under 3%).`,
    '',
    'Instructions are not time (cache misses and the kernel are not counted), but they are the work the',
    'process asks of the CPU, and they are what timed runs on this host cannot resolve to 3%.',
    '',
  ].join('\n');
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, text);
  writeFileSync(args.out.replace(/\.md$/, '.json'), `${JSON.stringify({ commit: gitCommit(), W, N, totals, perRequest: { on, off }, cost }, null, 2)}\n`);
  console.log(`\n${text}`);
  rmSync(tmp, { recursive: true, force: true });
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
