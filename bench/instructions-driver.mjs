// Run under valgrind by bench/instructions.ts: Tessera's app as `npm start` builds it (the compiled
// dist/), on the database in DATABASE_URL, answers AMOUNT platform reads through app.inject, one
// after another, and exits. No socket, no concurrency, V8 single-threaded: the same instructions
// every time, so that two runs differing only in AMOUNT (or in METRICS) differ only by that.
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const { loadConfig } = await import(new URL('../dist/src/config.js', import.meta.url).href);
const { buildApp } = await import(new URL('../dist/src/app.js', import.meta.url).href);

const reads = JSON.parse(readFileSync(process.env.READS_FILE, 'utf8'));
const amount = Number(process.env.AMOUNT);
const { app, services } = await buildApp(loadConfig());
// Work that runs by the clock rather than per request is left out where it can be: under valgrind
// the process is about fifty times slower, so a timer would land fifty times as often per read as
// in production, and more in a run that other load slowed. The webhook queue's poll (once a
// second) is stopped. prom-client's event-loop-delay sampling (a libuv timer every 10 ms, into a
// native histogram) stays: replacing perf_hooks.monitorEventLoopDelay changed how V8 optimised
// the rest (+320k instructions a read), so its per-second cost is counted, and the runs should
// have the machine to themselves.
await services.webhookDispatcher.stop();
globalThis.gc?.();
for (let i = 0; i < amount; i++) {
  const r = reads[i % reads.length];
  const res = await app.inject({ method: 'GET', url: r.path, headers: { authorization: `Bearer ${r.token}` } });
  if (res.statusCode !== 200) throw new Error(`read ${i} answered ${res.statusCode}: ${res.body}`);
}
await app.close();
process.exit(0);
