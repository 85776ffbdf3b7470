// Group commit on SQLite: the single-statement writes that requests make within one turn of the
// event loop commit together, in one transaction, before any of those requests is answered.
//
// Outside a transaction every statement that writes is a transaction of its own: it takes the
// write lock, appends its pages to the WAL, commits and gives the lock back, and every 1,000
// pages the commit that crosses the mark checkpoints (and fsyncs) inside the request. The
// refresh grant makes one such write per request, and SQLite's share of its event loop was a
// fifth (docs/performance.md, "Group commit"). Written together, N appends share one lock, one
// commit and the pages they touch (the links of one turn land side by side at the end of their
// time-ordered key): in a loop of inserts, ≈ 15 µs of CPU each alone against ≈ 8 µs in groups
// of eight. On several workers, fewer commits also mean fewer times another worker's page cache
// is dropped. PostgreSQL commits each on its own connection, in parallel: there a write runs as
// it comes.
//
// What a request waits for: the rest of the turn (the writes of the requests read in the same
// poll), not a timer. A statement is atomic on its own — a failed one (a unique violation: the
// compare-and-set that makes a refresh token single-use) is undone alone and the others commit —
// which is why only single statements are grouped. Any other failure fails the whole group, as
// SQLite may have ended the transaction: none of its writes is answered as done.
import { SqliteAdapter, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { Prepared } from './prepared.js';

type Db = Kysely<Database>;

interface Pending {
  write: (db: Db) => Promise<number>;
  resolve: (changes: number) => void;
  reject: (err: unknown) => void;
}

const queues = new WeakMap<Db, Pending[]>();

const undoneAlone = (err: unknown): boolean => String((err as { code?: unknown })?.code ?? '').startsWith('SQLITE_CONSTRAINT');

/**
 * Runs one prepared write (one statement) and answers how many rows it changed once it is
 * durable; on SQLite in a group with the other writes of this turn. Inside a transaction it runs
 * at once, as part of that transaction.
 */
export function runGrouped<P>(db: Db, statement: Prepared<P, unknown>, params: P): Promise<number> {
  if (db.isTransaction || !(db.getExecutor().adapter instanceof SqliteAdapter)) return statement.run(db, params);
  return new Promise((resolve, reject) => {
    let queue = queues.get(db);
    if (!queue) {
      queues.set(db, queue = []);
      setImmediate(() => {
        queues.delete(db);
        void commitGroup(db, queue!);
      });
    }
    queue.push({ write: (trx) => statement.run(trx, params), resolve, reject });
  });
}

async function commitGroup(db: Db, group: Pending[]): Promise<void> {
  if (group.length === 1) {
    const [only] = group as [Pending];
    return only.write(db).then(only.resolve, only.reject);
  }
  const outcomes: ({ ok: true; changes: number } | { ok: false; err: unknown })[] = [];
  try {
    await db.transaction().execute(async (trx) => {
      for (const pending of group) {
        try {
          outcomes.push({ ok: true, changes: await pending.write(trx) });
        } catch (err) {
          if (!undoneAlone(err)) throw err;
          outcomes.push({ ok: false, err });
        }
      }
    });
  } catch (err) {
    for (const pending of group) pending.reject(err);
    return;
  }
  group.forEach((pending, i) => {
    const outcome = outcomes[i]!;
    if (outcome.ok) pending.resolve(outcome.changes);
    else pending.reject(outcome.err);
  });
}
