// Several processes writing one SQLite file (the workers of `tessera start --workers N`, a
// `tessera` command, a second instance) take turns at its one write lock. SQLite's own busy
// handler would wait inside the call, sleeping 1, 2, 5, 10… ms; better-sqlite3's calls are
// synchronous, so the whole event loop would stop while one request waits its turn. Instead
// SQLite's handler is off (busy_timeout 0) and a busy answer is waited for here, between turns
// of the event loop, so the process serves other requests meanwhile:
// - transactions begin IMMEDIATE: the write lock is taken at BEGIN, where waiting is safe. A
//   deferred transaction that read first could not upgrade once another process had committed
//   (SQLITE_BUSY_SNAPSHOT, which no waiting cures) and would fail the request;
// - a statement outside a transaction that finds the lock held has done nothing yet and is
//   simply run again; inside a transaction that holds the lock nothing is busy, and COMMIT may
//   be retried (SQLite keeps the transaction open when COMMIT answers busy).
import { CompiledQuery, type DatabaseConnection, type Dialect, type Driver, type QueryResult, type TransactionSettings } from 'kysely';

/** How long a statement waits for the write lock before it fails (as busy_timeout did). */
export const SQLITE_TURN_TIMEOUT_MS = 5000;

const isBusy = (err: unknown): boolean => typeof (err as { code?: unknown })?.code === 'string' && (err as { code: string }).code.startsWith('SQLITE_BUSY');

/**
 * Runs `attempt` until it is not refused as busy: once more after the event loop's current turn,
 * then every millisecond. Retrying at every turn would spin: under steady contention from another
 * worker that tripled the CPU of each write, taking it from the processes doing the work.
 */
async function inTurn<T>(attempt: () => Promise<T>): Promise<T> {
  const started = Date.now();
  for (let tries = 0; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isBusy(err) || Date.now() - started > SQLITE_TURN_TIMEOUT_MS) throw err;
      await new Promise((resolve) => (tries === 0 ? setImmediate(resolve) : setTimeout(resolve, 1)));
    }
  }
}

class TurnTakingConnection implements DatabaseConnection {
  inTransaction = false;

  constructor(readonly raw: DatabaseConnection) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.inTransaction ? this.raw.executeQuery<R>(query) : inTurn(() => this.raw.executeQuery<R>(query));
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.raw.streamQuery<R>(query, chunkSize);
  }
}

class TurnTakingDriver implements Driver {
  private readonly wrapped = new WeakMap<DatabaseConnection, TurnTakingConnection>();

  constructor(private readonly inner: Driver) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const raw = await this.inner.acquireConnection();
    let c = this.wrapped.get(raw);
    if (!c) this.wrapped.set(raw, c = new TurnTakingConnection(raw));
    return c;
  }

  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    const c = connection as TurnTakingConnection;
    await inTurn(() => c.raw.executeQuery(CompiledQuery.raw('begin immediate')));
    c.inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as TurnTakingConnection;
    await inTurn(() => c.raw.executeQuery(CompiledQuery.raw('commit')));
    c.inTransaction = false;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as TurnTakingConnection;
    c.inTransaction = false;
    await c.raw.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]): Promise<void> {
    await this.inner.savepoint!((connection as TurnTakingConnection).raw, name, compile);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['rollbackToSavepoint']>>[2]): Promise<void> {
    await this.inner.rollbackToSavepoint!((connection as TurnTakingConnection).raw, name, compile);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['releaseSavepoint']>>[2]): Promise<void> {
    await this.inner.releaseSavepoint!((connection as TurnTakingConnection).raw, name, compile);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await this.inner.releaseConnection((connection as TurnTakingConnection).raw);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/** Kysely's SQLite dialect with transactions that begin IMMEDIATE and busy answers waited for between event-loop turns. */
export function takingTurns(inner: Dialect): Dialect {
  return {
    createAdapter: () => inner.createAdapter(),
    createDriver: () => new TurnTakingDriver(inner.createDriver()),
    createIntrospector: (db) => inner.createIntrospector(db),
    createQueryCompiler: () => inner.createQueryCompiler(),
  };
}
