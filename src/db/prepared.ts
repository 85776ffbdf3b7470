// Precompiled queries for the hot paths. Building and compiling a Kysely query costs 12–16 µs
// per call, more than SQLite takes to run an indexed lookup (≈ 7 µs): on the token service and
// the platform API, compiling was a quarter of the work. A prepared query is written with the
// same typed query builder, once, with named placeholders; it is compiled once per dialect and
// each call only binds its values by position. Everything else (the driver, the SQLite statement
// cache, result handling) is Kysely's, unchanged.
//
//   const grantById = prepared<{ id: string }>()((db, p) =>
//     db.selectFrom('grants').selectAll().where('id', '=', p.id));
//   const row = await grantById.first(db, { id });
//
// Writes stay visible to the caches: the write watch wraps the driver (write-watch.ts), so it sees
// these statements like any other. An update of one row by its key can say so, and caches keyed
// by that row then drop only it rather than all they hold:
//
//   const revoke = prepared<{ id: string; now: number }>({ updatesRow: { table: 'grants', key: 'id' } })((db, p) =>
//     db.updateTable('grants').set({ revoked_at: p.now }).where('id', '=', p.id));
import { createQueryId, PostgresAdapter, type Compilable, type CompiledQuery, type DialectAdapter, type Kysely, type QueryResult, type RootOperationNode } from 'kysely';
import type { Database } from './schema.js';
import { nameStatement } from './named-statements.js';
import { declareRowUpdate } from './write-watch.js';

type Db = Kysely<Database>;

// A string no real value contains: a placeholder's value while the query is compiled.
const MARK = '\u0000tessera:param:';

interface Slot { name?: string; value?: unknown }

interface Compiled {
  sql: string;
  query: RootOperationNode;
  slots: Slot[];
}

export interface Prepared<P, O> {
  /** Every row. */
  all(db: Db, params: P): Promise<O[]>;
  /** The first row, if any. */
  first(db: Db, params: P): Promise<O | undefined>;
  /** For writes: how many rows the statement inserted, updated or deleted. */
  run(db: Db, params: P): Promise<number>;
}

export interface PreparedOptions<P> {
  /**
   * The statement updates the row of `table` whose primary key `key` is the parameter of that
   * name, and changes no key (checked when it is compiled: write-watch.ts, declareRowUpdate).
   */
  updatesRow?: { table: keyof Database & string; key: keyof P & string };
}

/**
 * Prepares a query whose values are the properties of `P`. Called in two steps so that `P` is
 * written out while the row type is inferred from the builder: `prepared<P>()(build)`.
 */
export function prepared<P extends object = Record<string, never>>(options: PreparedOptions<P> = {}) {
  return <O>(build: (db: Db, p: Readonly<P>) => Compilable<O>): Prepared<P, O> => {
    // The SQL depends only on the dialect, so one compilation serves every database of that kind
    // (tests open many). Keyed by the adapter object, which each dialect shares.
    const byAdapter = new WeakMap<DialectAdapter, Compiled>();

    function compiledFor(db: Db): Compiled {
      const adapter = db.getExecutor().adapter;
      let c = byAdapter.get(adapter);
      if (!c) {
        // Reading any property gives its placeholder; the proxy has no keys, so spread nothing.
        const placeholders = new Proxy({}, { get: (_t, name) => `${MARK}${String(name)}` }) as Readonly<P>;
        const q = build(db, placeholders).compile();
        if (q.sql.includes(MARK)) throw new Error(`prepared query inlines a placeholder into its SQL: ${q.sql}`);
        c = {
          sql: q.sql,
          query: q.query,
          slots: q.parameters.map((v) => (typeof v === 'string' && v.startsWith(MARK) ? { name: v.slice(MARK.length) } : { value: v })),
        };
        if (options.updatesRow) {
          const { table, key } = options.updatesRow;
          declareRowUpdate(q.query, table, key, c.slots.findIndex((s) => s.name === key), `${MARK}${key}`);
        }
        // PostgreSQL parses and plans it once per connection (named-statements.ts).
        if (adapter instanceof PostgresAdapter) nameStatement(q.sql);
        byAdapter.set(adapter, c);
      }
      return c;
    }

    async function execute(db: Db, params: P): Promise<QueryResult<O>> {
      const c = compiledFor(db);
      const values = params as Record<string, unknown>;
      const parameters = c.slots.map((s) => (s.name !== undefined ? values[s.name] : s.value));
      const query: CompiledQuery<O> = { sql: c.sql, query: c.query, parameters, queryId: createQueryId() };
      return db.executeQuery(query);
    }

    return {
      all: async (db, params) => (await execute(db, params)).rows,
      first: async (db, params) => (await execute(db, params)).rows[0],
      run: async (db, params) => Number((await execute(db, params)).numAffectedRows ?? 0n),
    };
  };
}
