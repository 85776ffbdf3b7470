// Tells in-process caches which tables are being written. The watch wraps the database driver
// that openDatabase() gives Kysely, so every statement Tessera runs passes through it — built
// queries, precompiled ones (prepared.ts) and raw SQL alike — and no write path can forget to
// invalidate. Listeners hear the tables a statement writes:
// - before it runs and again after it has run, so a read that overlapped it is not cached;
// - once more when a transaction that wrote them commits: until then another connection of the
//   pool (PostgreSQL) still reads the old rows and may have cached them after the statement;
// - with every table its rows cascade into (ON DELETE CASCADE / SET NULL, read from the schema
//   by learnCascades()): deleting a connector also changes its grants and webhooks, although the
//   statement names only `connectors`.
// - for a statement declared to update rows by primary key (declareRowUpdate(), used by
//   prepared.ts), with those rows too: a cache keyed by them drops just those entries instead of
//   everything it holds (read-cache.ts). Undeclared writes are heard by table, which is always safe.
// Reads pay one check of the statement's kind.
import type {
  CompiledQuery, DatabaseConnection, Dialect, Driver, Kysely, OperationNode, QueryResult, RootOperationNode, TransactionSettings,
} from 'kysely';
import { AndNode, BinaryOperationNode, ColumnNode, OperatorNode, ParensNode, ReferenceNode, sql, ValueNode } from 'kysely';

/** The tables a statement writes, or 'all' when that cannot be told (raw SQL, schema changes). */
export type Written = ReadonlySet<string> | 'all';
export type WriteListener = (written: Written) => void;

/**
 * Tables written, when the rows written are known by primary key: this process's declared row
 * updates (which change no key, so nothing cascades), and another process's statements on a
 * table whose notifications name their rows (change-feed.ts). It is a set of that one table, so
 * whoever does not care about rows hears the table as before.
 */
export interface RowsWritten extends ReadonlySet<string> {
  readonly table: string;
  readonly ids: readonly string[];
}

export function rowsWritten(table: string, ids: readonly string[]): RowsWritten {
  return Object.assign(new Set([table]), { table, ids });
}

export function isRowsWritten(w: Written): w is RowsWritten {
  return w !== 'all' && 'ids' in w;
}

// Statements declared to update rows by key: which table, and which parameter holds the key.
const rowUpdates = new WeakMap<RootOperationNode, { table: string; parameter: number }>();

/**
 * Declares that every run of this statement (a precompiled one: the same node each time) updates
 * only rows of `table` whose primary key `key` equals the parameter at `parameter`, and changes
 * no key. Checked against the statement, since a wrong declaration would keep stale rows cached:
 * it must be an UPDATE naming no other table, not set `key`, and require `key = <placeholder>`
 * in the conjunction of its WHERE (`placeholder` is the value the parameter was compiled with).
 */
export function declareRowUpdate(node: RootOperationNode, table: string, key: string, parameter: number, placeholder: unknown): void {
  const named = [...tablesIn(node, new Set())];
  const problem = node.kind !== 'UpdateQueryNode' ? 'it is not an UPDATE'
    : named.join() !== table ? `it names ${named.join(', ')}, not ${table} alone`
    : (node.updates ?? []).some((u) => ColumnNode.is(u.column) && u.column.column.name === key) ? `it sets ${key}`
    : !requiresEqual(node.where?.where, key, placeholder) ? `its WHERE does not require ${key} = the parameter`
    : undefined;
  if (problem) throw new Error(`cannot declare a row update of ${table}: ${problem}`);
  rowUpdates.set(node, { table, parameter });
}

/** Whether the condition, a conjunction, has `column = value` among its terms. */
function requiresEqual(node: OperationNode | undefined, column: string, value: unknown): boolean {
  if (!node) return false;
  if (AndNode.is(node)) return requiresEqual(node.left, column, value) || requiresEqual(node.right, column, value);
  if (ParensNode.is(node)) return requiresEqual(node.node, column, value);
  if (!BinaryOperationNode.is(node) || !OperatorNode.is(node.operator) || node.operator.operator !== '=') return false;
  const left = node.leftOperand;
  const name = ReferenceNode.is(left) && ColumnNode.is(left.column) ? left.column.column.name : ColumnNode.is(left) ? left.column.name : undefined;
  return name === column && ValueNode.is(node.rightOperand) && node.rightOperand.value === value;
}

/** What a run of a statement writes, with its rows when it was declared a row update. */
function writtenByRun(query: CompiledQuery): Written | undefined {
  const w = writtenBy(query.query);
  const rows = w && rowUpdates.get(query.query);
  return rows ? rowsWritten(rows.table, [String(query.parameters[rows.parameter])]) : w;
}

const READS = new Set(['SelectQueryNode']);
const WRITES = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'MergeQueryNode']);

/** Every table named anywhere in the statement (a DELETE … WHERE id IN (SELECT …) names more than it writes: harmless). */
function tablesIn(node: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(node)) {
    for (const child of node) tablesIn(child, out);
  } else if (node && typeof node === 'object') {
    const n = node as { kind?: string; table?: { identifier?: { name?: string } } };
    if (n.kind === 'TableNode' && n.table?.identifier?.name) out.add(n.table.identifier.name);
    for (const value of Object.values(node)) if (value && typeof value === 'object') tablesIn(value, out);
  }
  return out;
}

// Precompiled statements (prepared.ts) pass the same node on every run: their tables are found once.
const writtenByNode = new WeakMap<RootOperationNode, ReadonlySet<string>>();

/** The tables named by `writing` (the statement or its writing parts), found once per statement. */
function tablesWritten(node: RootOperationNode, writing: unknown): ReadonlySet<string> {
  let tables = writtenByNode.get(node);
  if (!tables) writtenByNode.set(node, tables = tablesIn(writing, new Set()));
  return tables;
}

/** The tables a statement writes; undefined for a read. */
export function writtenBy(node: RootOperationNode): Written | undefined {
  if (READS.has(node.kind)) {
    // A SELECT is a read unless a WITH clause of it writes (PostgreSQL's data-modifying WITH):
    // then it writes what those clauses name.
    const writing = node.kind === 'SelectQueryNode' ? node.with?.expressions.filter((e) => WRITES.has(e.expression.kind)) : undefined;
    return writing?.length ? tablesWritten(node, writing.map((e) => e.expression)) : undefined;
  }
  if (WRITES.has(node.kind)) return tablesWritten(node, node);
  if (node.kind === 'RawNode') {
    // `select 1` (readiness) and pragmas are reads; any other raw statement may write anything.
    const text = node.sqlFragments.join('?').trimStart().toLowerCase();
    return /^(select|pragma|show|explain)\b/.test(text) ? undefined : 'all';
  }
  return 'all';
}

export class WriteWatch {
  private readonly listeners = new Set<WriteListener>();

  /**
   * Told each statement's time (metrics/metrics.ts). Timed here, where every statement already
   * passes, rather than by Kysely's `log` option, whose wrapper adds two awaits to each query.
   */
  constructor(readonly observe?: (ms: number, sql: string, failed: boolean) => void) {}
  /** For each table, every table its deletions or updates reach through foreign keys. */
  private reach = new Map<string, ReadonlySet<string>>();

  subscribe(listener: WriteListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  announce(w: Written): void {
    const expanded = w === 'all' ? w : this.withCascades(w);
    for (const listener of this.listeners) listener(expanded);
  }

  private withCascades(w: ReadonlySet<string>): ReadonlySet<string> {
    // A declared row update changes no key, so no foreign key acts on it.
    if (isRowsWritten(w)) return w;
    let out: Set<string> | undefined;
    for (const table of w) {
      const reached = this.reach.get(table);
      if (!reached) continue;
      out ??= new Set(w);
      for (const t of reached) out.add(t);
    }
    return out ?? w;
  }

  /**
   * Reads the foreign keys that cascade (ON DELETE CASCADE or SET NULL/DEFAULT) from the schema
   * and keeps, for each table, every table they reach. Called once the migrations have run.
   */
  async learnCascades<DB>(db: Kysely<DB>, dialect: 'sqlite' | 'postgres'): Promise<void> {
    const edges: Array<{ parent: string; child: string }> = [];
    if (dialect === 'sqlite') {
      const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db);
      for (const { name } of tables.rows) {
        const keys = await sql<{ table: string; on_delete: string }>`select "table", on_delete from pragma_foreign_key_list(${name})`.execute(db);
        for (const k of keys.rows) if (k.on_delete !== 'NO ACTION' && k.on_delete !== 'RESTRICT') edges.push({ parent: k.table, child: name });
      }
    } else {
      const keys = await sql<{ child: string; parent: string }>`
        select c.relname as child, p.relname as parent
        from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid
        where k.contype = 'f' and k.confdeltype in ('c', 'n', 'd') and k.connamespace = current_schema()::regnamespace`.execute(db);
      edges.push(...keys.rows);
    }
    const children = new Map<string, string[]>();
    for (const e of edges) children.set(e.parent, [...(children.get(e.parent) ?? []), e.child]);
    const reach = new Map<string, ReadonlySet<string>>();
    for (const table of children.keys()) {
      const seen = new Set<string>();
      const stack = [...children.get(table)!];
      while (stack.length) {
        const t = stack.pop()!;
        if (seen.has(t)) continue;
        seen.add(t);
        stack.push(...(children.get(t) ?? []));
      }
      reach.set(table, seen);
    }
    this.reach = reach;
  }

  /** The dialect with its driver wrapped, so that every statement passes through this watch. */
  dialect(inner: Dialect): Dialect {
    return {
      createAdapter: () => inner.createAdapter(),
      createDriver: () => new WatchedDriver(inner.createDriver(), this),
      createQueryCompiler: () => inner.createQueryCompiler(),
      createIntrospector: (db) => inner.createIntrospector(db),
    };
  }
}

class WatchedConnection implements DatabaseConnection {
  /** Tables written in the open transaction; undefined outside one. */
  written: Set<string> | 'all' | undefined;

  constructor(readonly raw: DatabaseConnection, private readonly watch: WriteWatch) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const observe = this.watch.observe;
    if (!observe) return this.run<R>(query);
    const start = performance.now();
    const running = this.run<R>(query);
    running.then(() => observe(performance.now() - start, query.sql, false), () => observe(performance.now() - start, query.sql, true));
    return running;
  }

  private async run<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const w = writtenByRun(query);
    if (!w) return this.raw.executeQuery<R>(query);
    this.watch.announce(w);
    try {
      return await this.raw.executeQuery<R>(query);
    } finally {
      this.watch.announce(w);
      if (this.written !== undefined) {
        if (w === 'all' || this.written === 'all') this.written = 'all';
        // Rows are not kept: the commit is heard by table (a transaction that updated rows by
        // key is rare on the hot paths; the rotations are single statements).
        else for (const t of w) this.written.add(t);
      }
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.raw.streamQuery<R>(query, chunkSize);
  }
}

class WatchedDriver implements Driver {
  private readonly wrapped = new WeakMap<DatabaseConnection, WatchedConnection>();

  constructor(private readonly inner: Driver, private readonly watch: WriteWatch) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const raw = await this.inner.acquireConnection();
    let c = this.wrapped.get(raw);
    if (!c) {
      c = new WatchedConnection(raw, this.watch);
      this.wrapped.set(raw, c);
    }
    return c;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const c = connection as WatchedConnection;
    await this.inner.beginTransaction(c.raw, settings);
    c.written = new Set();
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as WatchedConnection;
    const written = c.written;
    c.written = undefined;
    await this.inner.commitTransaction(c.raw);
    // Now that other connections can read what the transaction wrote, whatever they cached of
    // it in the meantime goes.
    if (written === 'all' || (written && written.size)) this.watch.announce(written);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as WatchedConnection;
    c.written = undefined;
    await this.inner.rollbackTransaction(c.raw);
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]): Promise<void> {
    await this.inner.savepoint!((connection as WatchedConnection).raw, name, compile);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['rollbackToSavepoint']>>[2]): Promise<void> {
    await this.inner.rollbackToSavepoint!((connection as WatchedConnection).raw, name, compile);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['releaseSavepoint']>>[2]): Promise<void> {
    await this.inner.releaseSavepoint!((connection as WatchedConnection).raw, name, compile);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection((connection as WatchedConnection).raw);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}
