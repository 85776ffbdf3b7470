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
  unavailable?: string;
  figures?: LoadFigures;
}

export interface ServerFigures {
  name: ServerName;
  readyMs: number;
  /** Tessera only: the very first start, which also generates the signing key. */
  firstStartReadyMs?: number;
  idleRssMb: number;
  peakRssMb: number;
}

export interface RunReport {
  startedAt: string;
  machine: { nproc: number; cpu: string; memoryGb: number; node: string; os: string };
  commit: string;
  settings: { connections: number; durationS: number; warmupS: number; database: 'sqlite' | 'postgres'; loadGenerator: string; oidcTokenFormat: string; logLevel: string };
  seed: { counts: Record<string, number>; seedMs: number };
  notes: string[];
  servers: ServerFigures[];
  scenarios: ScenarioResult[];
  rotations: number;
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

const TARGETS = { tokenVsPeer: 2, readVsCeiling: 0.5, p99Ms: 20, idleRssMb: 100, readyMs: 1000 };

const fmt = (n: number | undefined, digits = 0): string => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));
const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b ? a / b : undefined);
const mark = (ok: boolean | undefined): string => (ok === undefined ? 'n/a' : ok ? 'met' : '**missed**');

export interface Verdict { target: string; value: string; status: string }

export function verdicts(r: RunReport): Verdict[] {
  const by = (id: string): LoadFigures | undefined => r.scenarios.find((s) => s.id === id)?.figures;
  const peer = by('oidc-provider-client-credentials')?.rps;
  const ceiling = by('ceiling')?.rps;
  const out: Verdict[] = [];
  for (const s of r.scenarios.filter((x) => x.kind === 'token')) {
    const q = ratio(s.figures?.rps, peer);
    out.push({ target: `${s.title}: ≥ ${TARGETS.tokenVsPeer}× oidc-provider client_credentials`, value: q === undefined ? (s.unavailable ?? 'not run') : `${q.toFixed(2)}×`, status: mark(q === undefined ? undefined : q >= TARGETS.tokenVsPeer) });
  }
  const read = ratio(by('platform-read')?.rps, ceiling);
  out.push({ target: `Platform read ≥ ${TARGETS.readVsCeiling * 100}% of ceiling`, value: read === undefined ? 'not run' : `${(read * 100).toFixed(0)}%`, status: mark(read === undefined ? undefined : read >= TARGETS.readVsCeiling) });
  const ran = r.scenarios.filter((s) => s.figures && s.server === 'tessera');
  const worstP99 = ran.reduce<ScenarioResult | undefined>((w, s) => (!w || s.figures!.p99Ms > w.figures!.p99Ms ? s : w), undefined);
  out.push({ target: `p99 < ${TARGETS.p99Ms} ms at ${r.settings.connections} connections (every Tessera scenario)`, value: worstP99 ? `worst ${worstP99.figures!.p99Ms} ms (${worstP99.id})` : 'not run', status: mark(worstP99 ? worstP99.figures!.p99Ms < TARGETS.p99Ms : undefined) });
  const errors = ran.reduce((n, s) => n + s.figures!.errors + s.figures!.non2xx, 0);
  out.push({ target: 'Zero errors and non-2xx answers (Tessera)', value: String(errors), status: mark(ran.length ? errors === 0 : undefined) });
  const t = r.servers.find((s) => s.name === 'tessera');
  out.push({ target: `Idle RSS < ${TARGETS.idleRssMb} MB (Tessera)`, value: t ? `${fmt(t.idleRssMb, 1)} MB` : 'not run', status: mark(t ? t.idleRssMb < TARGETS.idleRssMb : undefined) });
  out.push({ target: `Ready < ${TARGETS.readyMs} ms on an existing database (Tessera)`, value: t ? `${t.readyMs} ms` : 'not run', status: mark(t ? t.readyMs < TARGETS.readyMs : undefined) });
  return out;
}

export function markdown(r: RunReport): string {
  const by = (id: string): LoadFigures | undefined => r.scenarios.find((s) => s.id === id)?.figures;
  const peer = by('oidc-provider-client-credentials')?.rps;
  const ceiling = by('ceiling')?.rps;
  const m = r.machine;
  const lines = [
    '# Benchmark results',
    '',
    `Run ${r.startedAt} at commit \`${r.commit}\` with \`npm run bench${r.settings.database === 'postgres' ? ' -- --postgres' : ''}\`.`,
    '',
    `Machine: ${m.nproc} CPUs (\`nproc\`), ${m.cpu}, ${m.memoryGb} GB, Node.js ${m.node}, ${m.os}.`,
    `Load: ${r.settings.loadGenerator}, ${r.settings.connections} connections, ${r.settings.warmupS} s warm-up then ${r.settings.durationS} s per scenario, loopback; the load generator shares the machine with the server under test.`,
    `Database: ${r.settings.database}, seeded with ${Object.entries(r.seed.counts).map(([k, v]) => `${v.toLocaleString('en')} ${k}`).join(', ')} (${r.seed.seedMs} ms).`,
    `Tessera runs with NODE_ENV=production and LOG_LEVEL=${r.settings.logLevel}. oidc-provider issues ${r.settings.oidcTokenFormat === 'jwt' ? 'ES256 JWT access tokens (the same signature work as Tessera)' : 'opaque access tokens stored in its in-memory adapter'}.`,
    '',
    '| Scenario | Server | req/s | p50 ms | p99 ms | errors | non-2xx | server CPU ms/req | ÷ oidc-provider | ÷ ceiling |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const s of r.scenarios) {
    const f = s.figures;
    if (!f) {
      lines.push(`| ${s.title} | ${s.server} | not available: ${s.unavailable ?? 'not run'} | | | | | | | |`);
      continue;
    }
    const vsPeer = s.server === 'tessera' ? fmt(ratio(f.rps, peer), 2) : '';
    const vsCeil = s.server !== 'ceiling' ? fmt(ratio(f.rps, ceiling), 2) : '';
    lines.push(`| ${s.title} | ${s.server} | ${f.rps} | ${f.p50Ms} | ${f.p99Ms} | ${f.errors} | ${f.non2xx} | ${fmt(f.cpuMsPerRequest, 3)} | ${vsPeer} | ${vsCeil} |`);
  }
  lines.push('', `Refresh tokens rotated by the token service during scenario 1's measured run: ${r.rotations} of the ${r.rotationsDue} that were due (each rotates once).`, '',
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
