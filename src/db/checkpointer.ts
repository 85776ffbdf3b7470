// SQLite WAL checkpoints on a thread of their own. In WAL mode every commit appends its pages to
// the -wal file, and by default the connection that commits copies them back into the database
// once the WAL passes 1,000 pages: a read of each page from the WAL, a write into the database
// file and an fsync, all inside whichever request's commit crossed the mark, on the event loop.
// On a small database that is a few hundred pages rewritten again and again; on one of gigabytes
// whose written rows are spread over it (a million refresh families, bench --large) each
// checkpoint copies a thousand different pages and its fsync waited twice as long (10.5 against
// 5.6 ms), so the refresh grant lost more at that size than anything else did
// (docs/performance.md, "Production sizes").
//
// So the main connection has autocheckpoint off and a worker thread with its own connection
// copies the pages in the background. PASSIVE waits for nobody, so it cannot stall a request.
// It cannot let the WAL start over either while requests keep writing (a writer restarts the WAL
// only when it finds every frame copied), so once the WAL passes a bound one RESTART checkpoint
// waits its turn at the write lock (requests' writes wait theirs meanwhile, sqlite-turns.ts)
// and lets the next writer begin the file anew. The thread polls every 100 ms while there is
// work and backs off to 2 s when idle. Every process on the file runs one (the workers of
// `tessera start --workers N`); a checkpoint already running in another makes the rest skip.
//
// The worker is plain JavaScript evaluated from this string, so it runs the same under tsx
// (tests) and from dist/ without a loader; the driver's path comes from this module's resolution.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

/** The WAL's size, in pages, past which the checkpointer restarts it (64 MB of 4 kB pages). */
export const RESTART_PAGES = 16_384;

const CHECKPOINTER = `
const { parentPort, workerData: o } = require('node:worker_threads');
const db = new (require(o.driver))(o.file);
db.pragma('busy_timeout = 1000');
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const restart = db.prepare('PRAGMA wal_checkpoint(RESTART)');
let delay = o.busyMs, timer;
function tick() {
  try {
    const { log } = passive.get();
    if (log > o.restartPages) restart.get();
    delay = log > 0 ? o.busyMs : Math.min(o.idleMs, delay * 2);
  } catch {}
  timer = setTimeout(tick, delay);
}
timer = setTimeout(tick, delay);
parentPort.on('message', () => { clearTimeout(timer); db.close(); parentPort.close(); });
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

/** Takes the checkpoints of `file` off `database`'s connection, onto a thread. */
export function startCheckpointer(database: SQLite.Database, file: string, opts: { busyMs?: number; idleMs?: number } = {}): Checkpointer {
  database.pragma('wal_autocheckpoint = 0');
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(CHECKPOINTER, {
    eval: true, workerData: { driver, file, busyMs: opts.busyMs ?? 100, idleMs: opts.idleMs ?? 2000, restartPages: RESTART_PAGES },
  });
  worker.unref();
  let exited = false;
  const exit = new Promise<void>((resolve) => worker.once('exit', () => {
    exited = true;
    resolve();
  }));
  // A checkpointer that cannot run must not go unnoticed: the main connection takes the job back.
  worker.once('error', () => {
    if (database.open) database.pragma('wal_autocheckpoint = 1000');
  });
  return {
    stop: async () => {
      // Held while it closes its connection: an unref'd worker would not keep a process that has
      // nothing else to do alive long enough to finish.
      worker.ref();
      if (!exited) worker.postMessage('close');
      await exit;
    },
  };
}
