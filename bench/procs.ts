// Child processes for the servers under test: each runs alone in its own process, so its memory is
// its own and it shares nothing with the load generator but the machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createServer, request } from 'node:http';

/**
 * The arguments after `node` in package.json's start script (its Node flags included), with paths
 * made absolute against `root`: Tessera is measured exactly as `npm start` runs it.
 */
export function npmStartArgs(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [node, ...rest] = pkg.scripts.start.split(/\s+/);
  if (node !== 'node') throw new Error(`npm start does not run node: ${pkg.scripts.start}`);
  return rest.map((a) => (a.endsWith('.js') ? join(root, a) : a));
}

export interface Server {
  name: string;
  pid: number;
  baseUrl: string;
  /** Milliseconds from spawn to the first successful answer on the readiness path. */
  readyMs: number;
  /** Resident memory a second after ready, before any load (MB). */
  idleRssMb: number;
  /** Highest resident memory so far (VmHWM, MB). */
  peakRssMb(): number;
  stop(): Promise<void>;
}

/** A free loopback port (the kernel picks one; the tiny race before the child binds it is harmless here). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A process and its descendants (a Tessera primary and its workers), from /proc (Linux). */
export function procTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      out.push(...readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number));
    } catch { /* gone */ }
  }
  return out;
}

/** A figure of /proc/<p>/<file> (Linux), summed over a process and its descendants; a process gone meanwhile counts nothing. */
function sumOverTree(pid: number, file: string, figure: (text: string) => number): number {
  let sum = 0;
  for (const p of procTree(pid)) {
    try {
      sum += figure(readFileSync(`/proc/${p}/${file}`, 'utf8'));
    } catch { /* gone */ }
  }
  return sum;
}

/** The number after `name` in a /proc file of `name: value` lines, 0 if absent. */
const field = (text: string, name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);

/**
 * VmRSS or VmHWM in MB, from /proc (Linux), summed over the process and its children. RssAnon and
 * RssFile split VmRSS: the process's own memory, and the pages of mapped files it has touched
 * (the node binary, and SQLite's memory-mapped database: the kernel's page cache, reclaimable).
 */
export function procMemMb(pid: number, name: 'VmRSS' | 'VmHWM' | 'RssAnon' | 'RssFile'): number {
  const kb = sumOverTree(pid, 'status', (text) => field(text, name));
  return kb ? Math.round(kb / 102.4) / 10 : NaN;
}

/**
 * CPU time (user + system) a process and its descendants have used, in ms, from /proc/<pid>/stat
 * (clock ticks of 10 ms). Divided by the requests served it gives CPU per request, which — unlike
 * requests per second — does not move when other work competes for the same cores. A child that
 * has exited and been waited for counts in its parent's cutime and cstime, so the sum never goes
 * back when one ends (PostgreSQL's backends come and go with their connections).
 */
export function procCpuMs(pid: number): number {
  return sumOverTree(pid, 'stat', (stat) => {
    // utime, stime, cutime and cstime are fields 14 to 17.
    const fields = statFields(stat);
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 10;
  });
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces): index 0 is field 3, "state". */
const statFields = (stat: string): string[] => stat.slice(stat.lastIndexOf(')') + 2).split(' ');

/** A process's parent (field 4 of /proc/<pid>/stat). */
export const procParent = (pid: number): number => Number(statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'))[1]);

/**
 * Bytes a process and its children have had fetched from storage (`read_bytes` of /proc/<pid>/io,
 * Linux): reads the kernel's page cache could not answer, whether by read() or by a fault on a
 * memory-mapped file. A page the kernel dropped while it sat unused comes back this way. The
 * kernel adds a child's reads to its parent's when it is waited for, as it does its CPU.
 */
export const procStorageReadBytes = (pid: number): number => sumOverTree(pid, 'io', (text) => field(text, 'read_bytes'));

export function httpStatus(url: string, method = 'GET'): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startServer(opts: {
  name: string;
  args: string[];
  env: Record<string, string>;
  port: number;
  readyPath: string;
  timeoutMs?: number;
  /** Send stdout to /dev/null (request logs at info would flood the terminal). */
  discardStdout?: boolean;
}): Promise<Server> {
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, opts.args, {
    env: { PATH: process.env.PATH ?? '', ...opts.env },
    stdio: ['ignore', opts.discardStdout ? 'ignore' : 'inherit', 'pipe'],
  });
  // Keep the last lines of stderr to explain a failed start; peers print start-up warnings there.
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  const baseUrl = `http://127.0.0.1:${opts.port}`;
  const deadline = started + (opts.timeoutMs ?? 30_000);
  // Poll often: the interval bounds the error of the ready time.
  for (;;) {
    if (exited !== null) throw new Error(`${opts.name} exited with ${exited} before it was ready:\n${stderr}`);
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${opts.name} was not ready within ${opts.timeoutMs ?? 30_000} ms:\n${stderr}`);
    }
    if (await httpStatus(baseUrl + opts.readyPath) === 200) break;
    await sleep(5);
  }
  const readyMs = Math.round(performance.now() - started);
  await sleep(1000);
  const pid = child.pid!;
  const idleRssMb = procMemMb(pid, 'VmRSS');
  let peak = 0;
  const peakRssMb = (): number => {
    // Remember the last reading so the figure survives the process's exit.
    const v = procMemMb(pid, 'VmHWM');
    if (!Number.isNaN(v)) peak = v;
    return peak;
  };
  return {
    name: opts.name,
    pid,
    baseUrl,
    readyMs,
    idleRssMb,
    peakRssMb,
    async stop() {
      peakRssMb();
      if (exited !== null) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      // A CPU profile is written on exit; give it time, then insist.
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}

/**
 * `perf record -g` on a process until stopped (the benchmark's --perf). Read the result with
 * `perf report -i <file> --no-children`; JS frames are named because the server runs with
 * --perf-basic-prof. perf counts CPU time of every thread, native code included, which V8's
 * sampling profiler (wall time, main thread only) cannot.
 */
export function perfRecord(pid: number, file: string): { stop: () => Promise<void> } {
  mkdirSync(dirname(file), { recursive: true });
  // Every process of the server: with workers, the primary and each worker.
  const child = spawn('perf', ['record', '-g', '-F', '999', '-p', procTree(pid).join(','), '-o', file], { stdio: 'ignore' });
  child.on('error', (err) => console.error(`perf could not start: ${err.message}`));
  return {
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.pid === undefined) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGINT');
    }),
  };
}
