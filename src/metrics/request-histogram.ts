// The request-duration histogram, kept in plain arrays and handed to prom-client's registry as a
// metric of its own (a registry takes any object with name, help, type and get()). prom-client's
// Histogram checks the label set, builds its hash string and looks it up on every observe, even
// through a series bound with labels(): counted with `npm run bench:instructions`, that was most
// of what metrics added to a cached platform read. Here a series is found once per route, method
// and status (metrics.ts) and an observation is a bucket search and three additions.

export interface Series {
  observe(seconds: number): void;
}

type Labels = Record<string, string | number>;

/** One line of the text format, in prom-client's shape. */
interface Value { labels: Labels; value: number; metricName: string }

class Counts implements Series {
  /** Per bucket, not cumulative (the scrape adds them up); the last is +Inf. */
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[], readonly labels: Labels) {
    this.buckets = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

export class RequestHistogram {
  readonly type = 'histogram';
  /** Workers' series are added up by the primary (prom-client's AggregatorRegistry). */
  readonly aggregator = 'sum';
  private readonly series: Counts[] = [];

  constructor(readonly name: string, readonly help: string, private readonly bounds: readonly number[]) {}

  /** A new series with these labels; the caller keeps it (one per label set). */
  labels(labels: Labels): Series {
    const s = new Counts(this.bounds, labels);
    this.series.push(s);
    return s;
  }

  /** What prom-client's Histogram.get() gives: cumulative buckets with `le`, then sum and count. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Value[] }> {
    const values: Value[] = [];
    for (const s of this.series) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.buckets[i]!;
        values.push({ labels: { ...s.labels, le: this.bounds[i]! }, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
