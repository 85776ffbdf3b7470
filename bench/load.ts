// One load run: autocannon at a fixed concurrency for a fixed time, reduced to the figures the
// report needs. Every scenario, Tessera's or a peer's, goes through here with the same settings.
import autocannon, { type Options, type Result } from 'autocannon';

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
  /** A measurement taken in slices (a --large run): each slice's rate, in the order taken. */
  sliceRps?: number[];
}

export function figures(r: Result): LoadFigures {
  return {
    requests: r.requests.total,
    rps: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    errors: r.errors,
    non2xx: r.non2xx,
    durationS: r.duration,
  };
}

export async function runLoad(opts: Options): Promise<LoadFigures> {
  // A 5 s timeout turns a stuck server into counted errors rather than a hung benchmark.
  const result = await autocannon({ timeout: 5, pipelining: 1, ...opts });
  return figures(result);
}

/** Cycles through items so that consecutive requests hit different connectors and grants. */
export function cycler<T>(items: readonly T[]): () => T {
  if (items.length === 0) throw new Error('nothing to cycle through');
  let i = 0;
  return () => items[i++ % items.length]!;
}
