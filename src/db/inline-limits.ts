// SQLite re-prepares a statement on every run when its LIMIT or OFFSET is a bound parameter: the
// value may change the plan, so the statement is compiled again for each binding. Kysely binds
// every limit, so the refresh grant's lookup of 0301's chain (`… LIMIT ?`) was parsed and
// planned on every request (perf: ≈ 8% of the event loop's time in sqlite3Reprepare; 7.1 µs a run
// against 2.2 µs with a literal). This plugin writes a top-level integer LIMIT/OFFSET into the SQL instead; each
// distinct value is then one cached statement, and limits are constants or validated page sizes.
// Only safe integers are inlined, so nothing a request sends can reach the SQL text.
import { SelectQueryNode, ValueNode, type KyselyPlugin, type OperationNode, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';

const inlined = (node: OperationNode): OperationNode | undefined =>
  ValueNode.is(node) && !node.immediate && Number.isSafeInteger(node.value) ? ValueNode.createImmediate(node.value) : undefined;

export class InlineLimits implements KyselyPlugin {
  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    // A property check for every other query: no tree walk.
    if (!SelectQueryNode.is(node) || (!node.limit && !node.offset)) return node;
    const limit = node.limit && inlined(node.limit.limit);
    const offset = node.offset && inlined(node.offset.offset);
    if (!limit && !offset) return node;
    return {
      ...node,
      ...(limit ? { limit: { ...node.limit!, limit } } : {}),
      ...(offset ? { offset: { ...node.offset!, offset } } : {}),
    };
  }

  async transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return result;
  }
}
