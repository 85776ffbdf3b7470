// Turns a run into bench/results/latest.json (everything, for tools) and latest.md (the table a
// person reads, with the ratios and the issue's targets marked met or missed).
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { LoadFigures } from './load.js';
import type { Scenario, ServerName } from './scenarios.js';

export interface ScenarioResult {
  id: string;
  title: string;
  server: ServerName;
  kind: Scenario['kind'];
  peer?: string;
  unavailable?: string;
  figures?: LoadFigures;
  /** The same scenario on `tessera start --workers 2` (Tessera's scenarios only). */
  workers2?: LoadFigures;
  /** The same scenario on a single Tessera process started with `--versus`'s environment, in the same slices. */
  versus?: LoadFigures;
  /** The peer measured in the same slices, taken in turn with this scenario's (a run without --large). */
  against?: { id: string; figures: LoadFigures };
}

export interface ServerFigures {
  name: ServerName;
  readyMs: number;
  /** Tessera only: the very first start, which also generates the signing key. */
  firstStartReadyMs?: number;
  idleRssMb: number;
  peakRssMb: number;
  /** VmRSS at the end of the pass split into the process's own memory and mapped file pages (procMemMb). */
  endRssAnonMb?: number;
  endRssFileMb?: number;
}

export interface RunReport {
  startedAt: string;
  machine: { nproc: number; cpu: string; memoryGb: number; node: string; os: string };
  commit: string;
  settings: { connections: number; durationS: number; warmupS: number; slices: number; database: 'sqlite' | 'postgres'; loadGenerator: string; versus?: string; oidcTokenFormat: string; logLevel: string };
  /** active: the grants and groups the scenarios address (bench/seed.ts SeedSize). */
  seed: { counts: Record<string, number>; seedMs: number; databaseMb?: number; active?: { grants: number; groups: number } };
  notes: string[];
  servers: ServerFigures[];
  scenarios: ScenarioResult[];
  /** Refresh tokens rotated in scenario 1's measured runs: the single process's, then the two workers'. */
  rotations: number[];
  /** Due in each of those runs. */
  rotationsDue: number;
}

export function machine(): RunReport['machine'] {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch { /* not Linux */ }
  let nproc = os.availableParallelism();
  try {
    nproc = Number(execSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch { /* no coreutils */ }
  return { nproc, cpu, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, os: `${os.type()} ${os.release()}` };
}

export function gitCommit(): string {
  try {
    return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

const TARGETS = { tokenVsPeer: 2, readVsCeiling: 0.5, p99Ms: 20, idleRssMb: 100, readyMs: 1000, refreshScaling: 1.3 };

const fmt = (n: number | undefined, digits = 0): string => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));
const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b ? a / b : undefined);
const mark = (ok: boolean | undefined): string => (ok === undefined ? 'n/a' : ok ? 'met' : '**missed**');

export interface Verdict { target: string; value: string; status: string }

/** The rate a scenario is compared with: its peer's slices taken in turn with its own, else the peer's own run. */
function peerRps(r: RunReport, s: ScenarioResult | undefined, peer: string | undefined): number | undefined {
  if (s?.against && s.against.id === peer) return s.against.figures.rps;
  return r.scenarios.find((x) => x.id === peer)?.figures?.rps;
}

export function verdicts(r: RunReport): Verdict[] {
  const out: Verdict[] = [];
  for (const s of r.scenarios.filter((x) => x.kind === 'token')) {
    const peer = r.scenarios.find((x) => x.id === s.peer);
    const q = ratio(s.figures?.rps, peerRps(r, s, s.peer));
    out.push({ target: `${s.title}: ≥ ${TARGETS.tokenVsPeer}× ${peer?.title ?? s.peer}`, value: q === undefined ? (s.unavailable ?? 'not run') : `${q.toFixed(2)}×`, status: mark(q === undefined ? undefined : q >= TARGETS.tokenVsPeer) });
  }
  const refresh = r.scenarios.find((s) => s.id === 'oauth-refresh');
  const scaling = ratio(refresh?.workers2?.rps, refresh?.figures?.rps);
  out.push({ target: `refresh_token grant with 2 workers ≥ ${TARGETS.refreshScaling}× one process`, value: scaling === undefined ? 'not run' : `${scaling.toFixed(2)}×`, status: mark(scaling === undefined ? undefined : scaling >= TARGETS.refreshScaling) });
  const platformRead = r.scenarios.find((s) => s.id === 'platform-read');
  const read = ratio(platformRead?.figures?.rps, peerRps(r, platformRead, 'ceiling'));
  out.push({ target: `Platform read ≥ ${TARGETS.readVsCeiling * 100}% of ceiling`, value: read === undefined ? 'not run' : `${(read * 100).toFixed(0)}%`, status: mark(read === undefined ? undefined : read >= TARGETS.readVsCeiling) });
  const ran = r.scenarios.filter((s) => s.figures && s.server === 'tessera');
  const runs = ran.flatMap((s) => [{ id: s.id, f: s.figures! }, ...(s.workers2 ? [{ id: `${s.id}, 2 workers`, f: s.workers2 }] : [])]);
  const worstP99 = runs.reduce<(typeof runs)[number] | undefined>((w, x) => (!w || x.f.p99Ms > w.f.p99Ms ? x : w), undefined);
  out.push({ target: `p99 < ${TARGETS.p99Ms} ms at ${r.settings.connections} connections (every Tessera scenario)`, value: worstP99 ? `worst ${worstP99.f.p99Ms} ms (${worstP99.id})` : 'not run', status: mark(worstP99 ? worstP99.f.p99Ms < TARGETS.p99Ms : undefined) });
  const errors = runs.reduce((n, x) => n + x.f.errors + x.f.non2xx, 0);
  out.push({ target: 'Zero errors and non-2xx answers (Tessera)', value: String(errors), status: mark(ran.length ? errors === 0 : undefined) });
  const t = r.servers.find((s) => s.name === 'tessera');
  out.push({ target: `Idle RSS < ${TARGETS.idleRssMb} MB (Tessera)`, value: t ? `${fmt(t.idleRssMb, 1)} MB` : 'not run', status: mark(t ? t.idleRssMb < TARGETS.idleRssMb : undefined) });
  out.push({ target: `Ready < ${TARGETS.readyMs} ms on an existing database (Tessera)`, value: t ? `${t.readyMs} ms` : 'not run', status: mark(t ? t.readyMs < TARGETS.readyMs : undefined) });
  return out;
}

export function markdown(r: RunReport): string {
  const by = (id: string): LoadFigures | undefined => r.scenarios.find((s) => s.id === id)?.figures;
  const ccPeer = by('oidc-provider-client-credentials')?.rps;
  const m = r.machine;
  const lines = [
    '# Benchmark results',
    '',
    `Run ${r.startedAt} at commit \`${r.commit}\` with \`npm run bench${r.settings.database === 'postgres' ? ' -- --postgres' : ''}\`.`,
    '',
    `Machine: ${m.nproc} CPUs (\`nproc\`), ${m.cpu}, ${m.memoryGb} GB, Node.js ${m.node}, ${m.os}.`,
    `Load: ${r.settings.loadGenerator}, ${r.settings.connections} connections, ${r.settings.warmupS} s warm-up then ${r.settings.durationS} s per scenario, loopback; the load generator shares the machine with the server under test.`,
    ...(r.scenarios.some((s) => s.against) ? [`Each Tessera scenario's ${r.settings.durationS} s were taken in ${r.settings.slices} slices in turn with its two-worker run and its peer (oidc-provider's same grant; the ceiling for the platform read): one process, two workers, peer, then peer, two workers, one process, and again. So the host's drift falls on both sides of every ratio alike; a peer's row gives all the slices it ran in. p50 and p99 are those of every request of the slices together.`] : []),
    `Database: ${r.settings.database}, seeded with ${Object.entries(r.seed.counts).map(([k, v]) => `${v.toLocaleString('en')} ${k}`).join(', ')} (${r.seed.seedMs.toLocaleString('en')} ms${r.seed.databaseMb !== undefined ? `; ${r.seed.databaseMb.toLocaleString('en')} MB on disk` : ''}).`,
    `Tessera runs with NODE_ENV=production and LOG_LEVEL=${r.settings.logLevel}. oidc-provider issues ${r.settings.oidcTokenFormat === 'jwt' ? 'ES256 JWT access tokens (the same signature work as Tessera)' : 'opaque access tokens stored in its in-memory adapter'}.`,
    '',
    '| Scenario | Server | req/s | p50 ms | p99 ms | errors | non-2xx | server CPU ms/req | ÷ oidc-provider, same grant | ÷ oidc-provider client_credentials | ÷ ceiling |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const s of r.scenarios) {
    const f = s.figures;
    if (!f) {
      lines.push(`| ${s.title} | ${s.server} | not available: ${s.unavailable ?? 'not run'} | | | | | | | | |`);
      continue;
    }
    const vsSame = s.server === 'tessera' && s.kind === 'token' ? fmt(ratio(f.rps, peerRps(r, s, s.peer)), 2) : '';
    const vsCc = s.server === 'tessera' ? fmt(ratio(f.rps, ccPeer), 2) : '';
    const vsCeil = s.server !== 'ceiling' ? fmt(ratio(f.rps, peerRps(r, s, 'ceiling')), 2) : '';
    lines.push(`| ${s.title} | ${s.server} | ${f.rps} | ${f.p50Ms} | ${f.p99Ms} | ${f.errors} | ${f.non2xx} | ${fmt(f.cpuMsPerRequest, 3)} | ${vsSame} | ${vsCc} | ${vsCeil} |`);
  }
  const scaled = r.scenarios.filter((s) => s.figures && s.workers2);
  if (scaled.length) {
    lines.push('', `### One process against \`--workers 2\` (same run, same database)`, '',
      '| Scenario | 1 process req/s | 2 workers req/s | scaling | 2 workers p99 ms | 2 workers CPU ms/req | errors + non-2xx (2 workers) |', '|---|--:|--:|--:|--:|--:|--:|');
    for (const s of scaled) {
      const one = s.figures!;
      const two = s.workers2!;
      lines.push(`| ${s.title} | ${one.rps} | ${two.rps} | ${fmt(ratio(two.rps, one.rps), 2)}× | ${two.p99Ms} | ${fmt(two.cpuMsPerRequest, 3)} | ${two.errors + two.non2xx} |`);
    }
  }
  const versus = r.scenarios.filter((s) => s.figures && s.versus);
  if (versus.length) {
    lines.push('', `### Against \`--versus ${r.settings.versus ?? ''}\` (a second single process with that environment, slices taken in turn)`, '',
      '| Scenario | tessera req/s | versus req/s | change | tessera CPU ms/req | versus CPU ms/req | versus p99 ms | versus slices req/s |', '|---|--:|--:|--:|--:|--:|--:|--:|');
    for (const s of versus) {
      const [a, b] = [s.figures!, s.versus!];
      lines.push(`| ${s.title} | ${a.rps} | ${b.rps} | ${fmt((ratio(b.rps, a.rps)! - 1) * 100, 1)}% | ${fmt(a.cpuMsPerRequest, 3)} | ${fmt(b.cpuMsPerRequest, 3)} | ${b.p99Ms} | ${b.sliceRps?.join(' / ') ?? '–'} |`);
    }
  }
  const [one, two] = r.rotations;
  lines.push('', `Refresh tokens rotated by the token service during scenario 1's measured runs (each rotates once): ${one ?? 0} of the ${r.rotationsDue} that were due for one process${two === undefined ? '' : `, ${two} of the ${r.rotationsDue} due for two workers`}.`, '',
    '| Server | ready ms | idle RSS MB | peak RSS MB (VmHWM) |', '|---|--:|--:|--:|');
  for (const s of r.servers) {
    const ready = s.firstStartReadyMs !== undefined ? `${s.readyMs} (first start ${s.firstStartReadyMs})` : String(s.readyMs);
    lines.push(`| ${s.name} | ${ready} | ${fmt(s.idleRssMb, 1)} | ${fmt(s.peakRssMb, 1)} |`);
  }
  lines.push('', '## Targets (reported, not asserted)', '', '| Target | Measured | Status |', '|---|---|---|');
  for (const v of verdicts(r)) lines.push(`| ${v.target} | ${v.value} | ${v.status} |`);
  if (r.notes.length) lines.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`));
  lines.push('', 'See docs/performance.md for what the profiles showed and what was optimised.', '');
  return lines.join('\n');
}

/**
 * The change slice by slice (each large slice against the small one just before it): how far the
 * host's noise spreads a comparison, so a reader can weigh the total's distance from the target.
 */
function slicePairs(a: LoadFigures | undefined, b: LoadFigures | undefined): string {
  if (!a?.sliceRps || !b?.sliceRps) return '–';
  return b.sliceRps.map((rps, i) => `${Math.round((rps / a.sliceRps![i]! - 1) * 100)}`).join(' / ') + '%';
}

/** A --large run: the large pass's full report, after a table of each scenario's rate beside the small seed's (issue 17: at most 10% slower). */
export function largeMarkdown(small: RunReport, large: RunReport): string {
  const rows: string[] = [];
  // The database server's columns, where the bench could read its processes (PostgreSQL on this machine).
  const postgres = large.scenarios.some((s) => s.figures?.dbCpuMsPerRequest !== undefined);
  for (const l of large.scenarios) {
    const sm = small.scenarios.find((x) => x.id === l.id);
    const pairs: [string, LoadFigures | undefined, LoadFigures | undefined][] = [[l.title, sm?.figures, l.figures]];
    if (l.workers2 || sm?.workers2) pairs.push([`${l.title}, 2 workers`, sm?.workers2, l.workers2]);
    for (const [title, a, b] of pairs) {
      const change = a && b ? b.rps / a.rps - 1 : undefined;
      // 4b compares metrics on and off within each pass; its two passes are not alternated.
      const both = (pick: (f: LoadFigures) => number | undefined, digits: number) => `${fmt(a && pick(a), digits)} / ${fmt(b && pick(b), digits)}`;
      const database = postgres ? ` ${both((f) => f.dbCpuMsPerRequest, 3)} | ${both((f) => f.dbReadKbPerRequest, 2)} |` : '';
      rows.push(`| ${title} | ${l.server} | ${a?.rps ?? '–'} | ${b?.rps ?? '–'} | ${change === undefined ? '–' : `${(change * 100).toFixed(1)}%`} | ${slicePairs(a, b)} | ${both((f) => f.cpuMsPerRequest, 3)} | ${both((f) => f.readKbPerRequest, 2)} |${database} ${b?.p99Ms ?? '–'} | ${l.server === 'tessera' && change !== undefined ? mark(change >= -0.1) : ''} |`);
    }
  }
  const peak = (r: RunReport, name: string) => r.servers.find((s) => s.name === name)?.peakRssMb;
  const active = (r: RunReport) => (r.seed.active ? `${r.seed.active.grants.toLocaleString('en')} grants for ${r.seed.active.groups.toLocaleString('en')} groups` : 'every grant');
  const split = (r: RunReport, name: string) => {
    const s = r.servers.find((x) => x.name === name);
    return `${fmt(s?.endRssAnonMb, 1)} + ${fmt(s?.endRssFileMb, 1)} MB`;
  };
  return [
    '# Benchmark at production data sizes (`npm run bench -- --large`)',
    '',
    `Both seeds were up at once on the same machine (${large.machine.nproc} CPUs, ${large.machine.cpu}), database ${large.settings.database}, commit \`${large.commit}\`; each scenario was measured on the two in turn, four slices of a quarter of the duration a side (small, large, then large, small, and again), so that the host's drift falls on both halves of a comparison alike; "each slice pair" gives each large slice's change against the small one beside it, the spread of the host's noise.`,
    `At both sizes the scenarios address the same working set, ${active(large)} spread evenly over all the rows (bench/seed.ts, \`activeGrants\`): the large seed adds data around the requests, not distinct clients to keep in memory.`,
    `Small seed: ${Object.entries(small.seed.counts).map(([k, v]) => `${v.toLocaleString('en')} ${k}`).join(', ')}; ${small.seed.databaseMb ?? '?'} MB on disk.`,
    `Large seed: ${Object.entries(large.seed.counts).map(([k, v]) => `${v.toLocaleString('en')} ${k}`).join(', ')}; seeded in ${(large.seed.seedMs / 1000).toFixed(0)} s; ${large.seed.databaseMb ?? '?'} MB on disk.`,
    `Tessera's peak RSS: ${fmt(peak(small, 'tessera'), 1)} MB with the small seed, ${fmt(peak(large, 'tessera'), 1)} MB with the large one (one process); with two workers (all three processes) ${fmt(peak(small, 'tessera-2w'), 1)} and ${fmt(peak(large, 'tessera-2w'), 1)} MB.`,
    "CPU and storage reads are each side's, summed over its slices and divided by its requests; what is read from storage (`read_bytes` of /proc/<pid>/io) is pages the kernel's cache no longer held, by read() or by a fault on the memory-mapped file.",
    ...(postgres ? ["PostgreSQL's columns are the postmaster's whole process tree over each side's slices: the two seeds share one server, but a slice drives one side at a time, so what the server did in it is that side's work plus the server's own background work (autovacuum, the checkpointer)."] : []),
    `Of the resident memory at the end, the process's own against mapped file pages (the node binary and, on SQLite, the memory-mapped database; the kernel's page cache): ${split(small, 'tessera')} small, ${split(large, 'tessera')} large; two workers ${split(small, 'tessera-2w')} and ${split(large, 'tessera-2w')}.`,
    '',
    `| Scenario | Server | small seed req/s | large seed req/s | change | each slice pair | CPU ms/req, small / large | KB/req read from storage, small / large |${postgres ? ' PostgreSQL CPU ms/req, small / large | PostgreSQL KB/req read, small / large |' : ''} large p99 ms | within 10% |`,
    `|---|---|--:|--:|--:|--:|--:|--:|${postgres ? '--:|--:|' : ''}--:|---|`,
    ...rows,
    '',
    '---',
    '',
    markdown(large).replace(/^# Benchmark results/, '## The large pass in full'),
  ].join('\n');
}
