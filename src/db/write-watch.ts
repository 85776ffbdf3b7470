// Tells in-process caches that a table is being written. Installed as a Kysely plugin on every
// database Tessera opens, so that no write path can forget to invalidate: whatever service runs an
// INSERT, UPDATE or DELETE through Kysely (in a transaction or not), listeners hear the table names
// before the statement runs and again after it has run. Reads pay one kind check.
import type { Kysely, KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';

/** The tables a statement writes, or 'all' when that cannot be told (raw SQL, schema changes). */
export type Written = ReadonlySet<string> | 'all';
export type WriteListener = (written: Written) => void;

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

/** The tables a statement writes; undefined for a read. */
export function writtenBy(node: RootOperationNode): Written | undefined {
  if (READS.has(node.kind)) return undefined;
  if (WRITES.has(node.kind)) return tablesIn(node, new Set());
  if (node.kind === 'RawNode') {
    // `select 1` (readiness) and pragmas are reads; any other raw statement may write anything.
    const text = node.sqlFragments.join('?').trimStart().toLowerCase();
    return /^(select|pragma|show|explain)\b/.test(text) ? undefined : 'all';
  }
  return 'all';
}

export class WriteWatch implements KyselyPlugin {
  private readonly listeners = new Set<WriteListener>();
  private readonly pending = new WeakMap<object, Written>();

  subscribe(listener: WriteListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const w = this.listeners.size ? writtenBy(args.node) : undefined;
    if (w) {
      this.pending.set(args.queryId, w);
      this.announce(w);
    }
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const w = this.pending.get(args.queryId);
    if (w) {
      this.pending.delete(args.queryId);
      // Again after the statement: a read that ran while it was in flight must not be cached.
      this.announce(w);
    }
    return args.result;
  }

  /** Tells the listeners that these tables are being written (prepared.ts calls it for its writes). */
  announce(w: Written): void {
    for (const listener of this.listeners) listener(w);
  }
}

/** The watch installed on this database or transaction (plugins carry over into transactions). */
export function watchOf<DB>(db: Kysely<DB>): WriteWatch | undefined {
  return db.getExecutor().plugins.find((p): p is WriteWatch => p instanceof WriteWatch);
}
