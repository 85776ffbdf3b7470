// PostgreSQL: the hot paths' precompiled queries (prepared.ts) run as named server-side prepared
// statements. Kysely hands pg the SQL text alone, so every query was an unnamed statement that
// PostgreSQL parsed, analysed and planned afresh on each call, on the same cores that run
// Tessera. Named, each connection parses and plans a statement once and afterwards only binds
// and executes it: an indexed lookup answered 1.3–1.8× as many queries a second on the benchmark
// machine (pg, 16 concurrent, client CPU unchanged). Queries built at run time stay unnamed:
// their texts are unbounded, and each named statement holds memory on every connection.
//
// A prepared `select *` fails with "cached plan must not change result type" once its table has
// gained or lost a column: a newer instance migrating while this one runs (a rolling upgrade).
// That connection then runs the statement unnamed; the query is answered either way.
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';

/** SQL text → statement name, for the texts prepared.ts compiled for PostgreSQL. */
const names = new Map<string, string>();

/** Marks a compiled text to run as a named statement; the same text always has the same name. */
export function nameStatement(text: string): void {
  if (!names.has(text)) names.set(text, `tessera_${names.size + 1}`);
}

/** The pg pool, its clients running the named texts as named statements. */
export function namingStatements(pool: pg.Pool): PostgresPool {
  // Kysely keeps one connection object per client object: each client keeps one wrapper.
  const wrappers = new WeakMap<pg.PoolClient, NamingClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (!wrapper) {
        wrapper = new NamingClient(client);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}

/** "cached plan must not change result type": by SQLSTATE and the server routine (messages are translated). */
const isStalePlan = (err: unknown): boolean => {
  const e = err as { code?: unknown; routine?: unknown };
  return e.code === '0A000' && e.routine === 'RevalidateCachedQuery';
};

class NamingClient implements PostgresPoolClient {
  /** Names this connection's server no longer runs (their table changed shape). */
  private readonly stale = new Set<string>();

  constructor(private readonly client: pg.PoolClient) {}

  query<R>(sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(sqlOrCursor: string | PostgresCursor<R>, parameters: readonly unknown[] = []): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // A cursor (Kysely's streaming queries) is pg's to run as it is.
    if (typeof sqlOrCursor !== 'string') return this.client.query(sqlOrCursor as unknown as pg.Submittable) as unknown as PostgresCursor<R>;
    // Kysely passes an array of its own for each call: pg may keep it.
    return this.run(sqlOrCursor, parameters as unknown[]) as Promise<unknown> as Promise<PostgresQueryResult<R>>;
  }

  private async run(text: string, values: unknown[]): Promise<pg.QueryResult> {
    const name = names.get(text);
    if (name === undefined || this.stale.has(name)) return this.client.query(text, values);
    try {
      return await this.client.query({ name, text, values });
    } catch (err) {
      if (!isStalePlan(err)) throw err;
      this.stale.add(name);
      return this.client.query(text, values);
    }
  }

  release(): void {
    this.client.release();
  }
}
