// The slice of autocannon's API the harness uses (the package ships no type declarations).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  export interface Request {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    setupRequest?: (req: Request, context: Record<string, unknown>) => Request | undefined;
    onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string>) => void;
  }

  export interface Options extends Request {
    url: string;
    connections?: number;
    duration?: number;
    amount?: number;
    pipelining?: number;
    timeout?: number;
    requests?: Request[];
    /** Answer the run's raw counts and its encoded histograms (RawResult) instead of aggregating them. */
    skipAggregateResult?: boolean;
  }

  export interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p90: number;
    p97_5: number;
    p99: number;
  }

  export interface Result {
    duration: number;
    requests: Histogram;
    latency: Histogram;
    throughput: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    '1xx': number;
    '2xx': number;
    '3xx': number;
    '4xx': number;
    '5xx': number;
  }

  /** A run with `skipAggregateResult`: totals, and each histogram encoded so that runs can be merged. */
  export interface RawResult {
    latencies: string;
    totalCompletedRequests: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    /** Seconds. */
    duration: number;
  }

  export interface Instance<R = Result> extends EventEmitter, PromiseLike<R> {
    stop(): void;
  }

  function autocannon(opts: Options & { skipAggregateResult: true }): Instance<RawResult>;
  function autocannon(opts: Options): Instance;
  namespace autocannon {
    /** Merges raw results: the latency percentiles are those of every request of every run. */
    function aggregateResult(results: RawResult[], opts: { url: string }): Result;
  }
  export default autocannon;
}
