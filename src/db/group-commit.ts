// Group commit: what requests write within one turn of the event loop is committed together,
// before any of those requests is answered. On SQLite, single statements in one transaction
// (runGrouped); on PostgreSQL, one statement written for many rows (perTurn, groupedInserts).
// perTurn() is the general form: the asks of a turn handed to one flush (the refresh grant's
// spend: one statement on PostgreSQL, one transaction of reads and inserts on SQLite).
//
// Outside a transaction every statement that writes is a transaction of its own: it takes the
// write lock, appends its pages to the WAL, commits and gives the lock back, and every 1,000
// pages the commit that crosses the mark checkpoints (and fsyncs) inside the request. The
// refresh grant makes one such write per request, and SQLite's share of its event loop was a
// fifth (docs/performance.md, "Group commit"). Written together, N appends share one lock, one
// commit and the pages they touch (the links of one turn land side by side at the end of their
// time-ordered key): in a loop of inserts, ≈ 15 µs of CPU each alone against ≈ 8 µs in groups
// of eight. On several workers, fewer commits also mean fewer times another worker's page cache
// is dropped. On PostgreSQL runGrouped() runs a write as it comes (each connection commits on its
// own); what batches there is a statement written for many rows at once, through perTurn()
// (the refresh grant's spend: oauth/queries.ts).
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

interface Pending<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

/**
 * What requests ask of `db` within one turn of the event loop, handed to `flush` together at the
 * end of the turn; `flush` answers each item, in order, or fails them all by throwing. Inside a
 * transaction an item is flushed at once, alone: the transaction may be over by the turn's end.
 */
export function perTurn<I, O>(flush: (db: Db, items: I[]) => Promise<O[]>): (db: Db, item: I) => Promise<O> {
  const queues = new WeakMap<Db, Pending<I, O>[]>();
  return (db, item) => db.isTransaction ? flush(db, [item]).then((outs) => outs[0]!) : new Promise<O>((resolve, reject) => {
    let queue = queues.get(db);
    if (!queue) {
      const group: Pending<I, O>[] = queue = [];
      queues.set(db, group);
      setImmediate(() => {
        queues.delete(db);
        flush(db, group.map((p) => p.item)).then(
          (outs) => group.forEach((p, i) => p.resolve(outs[i]!)),
          (err: unknown) => group.forEach((p) => p.reject(err)),
        );
      });
    }
    queue.push({ item, resolve, reject });
  });
}

type Outcome = { ok: true; changes: number } | { ok: false; err: unknown };

/** What one write's request hears: the rows it changed, or its own error. */
function settle(outcome: Outcome): number {
  if (!outcome.ok) throw outcome.err;
  return outcome.changes;
}

const undoneAlone = (err: unknown): boolean => String((err as { code?: unknown })?.code ?? '').startsWith('SQLITE_CONSTRAINT');

const commitTogether = perTurn<(db: Db) => Promise<number>, Outcome>(async (db, writes) => {
  const outcomes: Outcome[] = [];
  const attempt = async (run: Db, write: (db: Db) => Promise<number>): Promise<void> => {
    try {
      outcomes.push({ ok: true, changes: await write(run) });
    } catch (err) {
      // A failure other than a constraint's may have ended SQLite's transaction: it fails the group.
      if (!undoneAlone(err) && writes.length > 1) throw err;
      outcomes.push({ ok: false, err });
    }
  };
  // Alone in its turn: a transaction of its own, as any statement.
  if (writes.length === 1) await attempt(db, writes[0]!);
  else await db.transaction().execute(async (trx) => { for (const write of writes) await attempt(trx, write); });
  return outcomes;
});

/**
 * Runs one prepared write (one statement) and answers how many rows it changed once it is
 * durable; on SQLite in a group with the other writes of this turn. Inside a transaction it runs
 * at once, as part of that transaction.
 */
export async function runGrouped<P>(db: Db, statement: Prepared<P, unknown>, params: P): Promise<number> {
  if (db.isTransaction || !(db.getExecutor().adapter instanceof SqliteAdapter)) return statement.run(db, params);
  return settle(await commitTogether(db, (run) => statement.run(run, params)));
}

/**
 * Inserts rows of one table, each answered once it is durable: on SQLite through runGrouped()
 * with `one`; on PostgreSQL the rows of one turn go in one statement, `many`, whose parameter
 * `rows` is their JSON array (written with json_populate_recordset), one round trip and one commit
 * for all. If that statement fails (one row refused, say a foreign key gone meanwhile), each row
 * is inserted alone, so that each request hears its own outcome.
 */
export function groupedInserts<R>(one: Prepared<R, unknown>, many: Prepared<{ rows: string }, unknown>): (db: Db, row: R) => Promise<number> {
  const together = perTurn<R, Outcome>(async (db, rows) => {
    if (rows.length > 1) {
      try {
        await many.run(db, { rows: JSON.stringify(rows) });
        return rows.map(() => ({ ok: true, changes: 1 }));
      } catch {
        // Said row by row below.
      }
    }
    return Promise.all(rows.map((row) => one.run(db, row).then((changes): Outcome => ({ ok: true, changes }), (err: unknown): Outcome => ({ ok: false, err }))));
  });
  return async (db, row) => {
    if (db.isTransaction || db.getExecutor().adapter instanceof SqliteAdapter) return runGrouped(db, one, row);
    return settle(await together(db, row));
  };
}
