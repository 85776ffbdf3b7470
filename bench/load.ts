// One load run: autocannon at a fixed concurrency for a fixed time, reduced to the figures the
// report needs. Every scenario, Tessera's or a peer's, goes through here with the same settings.
import autocannon, { type Options, type RawResult } from 'autocannon';

export interface LoadFigures {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  durationS: number;
  /** Server CPU time per request (ms), measured from /proc over the run. */
  cpuMsPerRequest?: number;
  /** KB the server had fetched from storage per request (pages the kernel's cache no longer held). */
  readKbPerRequest?: number;
  /** A measurement taken in slices: what each slice read from storage, KB. */
  sliceReadKb?: number[];
  /** A measurement taken in slices: each slice's rate, in the order taken. */
  sliceRps?: number[];
  /**
   * PostgreSQL's CPU per request (ms) and what it fetched from storage per request (KB): the
   * postmaster and all its backends over the same slices. Both seeds share one server, but a
   * slice drives one side at a time, so what the server does in it is that side's (and the
   * server's own background work: autovacuum, the checkpointer).
   */
  dbCpuMsPerRequest?: number;
  dbReadKbPerRequest?: number;
}

/** What the server under test (and, on PostgreSQL, the database server) used over a side's runs. */
export interface Usage {
  cpuMs: number;
  /** Bytes fetched from storage in each run. */
  reads: number[];
  db?: { cpuMs: number; reads: number };
}

/**
 * A run as autocannon has it before aggregating: its latency histogram is still whole (encoded),
 * so the slices of a measurement merge into the percentiles of all their requests together,
 * not the worst slice's.
 */
export type LoadRun = RawResult;

export async function runLoad(opts: Options): Promise<LoadRun> {
  // A 5 s timeout turns a stuck server into counted errors rather than a hung benchmark.
  return autocannon({ timeout: 5, pipelining: 1, ...opts, skipAggregateResult: true });
}

/** One server's runs (the slices of a measurement, or a single run) as one figure, with what it used over them. */
export function figures(runs: LoadRun[], usage?: Usage): LoadFigures {
  const sum = (pick: (r: LoadRun) => number): number => runs.reduce((n, r) => n + pick(r), 0);
  const requests = sum((r) => r.totalCompletedRequests);
  const { cpuMs, reads, db } = usage ?? {};
  const readBytes = reads?.reduce((n, b) => n + b, 0);
  const perRequest = (x: number, digits: number) => Math.round((x / Math.max(1, requests)) * 10 ** digits) / 10 ** digits;
  const durationS = sum((r) => r.duration);
  const { latency } = autocannon.aggregateResult(runs, { url: 'http://merged.invalid' });
  return {
    requests,
    rps: Math.round(requests / durationS),
    p50Ms: latency.p50,
    p99Ms: latency.p99,
    maxMs: latency.max,
    errors: sum((r) => r.errors),
    non2xx: sum((r) => r.non2xx),
    durationS: Math.round(durationS * 100) / 100,
    ...(cpuMs === undefined ? {} : { cpuMsPerRequest: perRequest(cpuMs, 3) }),
    ...(readBytes === undefined ? {} : { readKbPerRequest: perRequest(readBytes / 1024, 2) }),
    ...(runs.length > 1 ? { sliceRps: runs.map((r) => Math.round(r.totalCompletedRequests / r.duration)) } : {}),
    ...(reads && runs.length > 1 ? { sliceReadKb: reads.map((b) => Math.round(b / 1024)) } : {}),
    ...(db ? { dbCpuMsPerRequest: perRequest(db.cpuMs, 3), dbReadKbPerRequest: perRequest(db.reads / 1024, 2) } : {}),
  };
}

/** Cycles through items so that consecutive requests hit different connectors and grants. */
export function cycler<T>(items: readonly T[]): () => T {
  if (items.length === 0) throw new Error('nothing to cycle through');
  let i = 0;
  return () => items[i++ % items.length]!;
}
