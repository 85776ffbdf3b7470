// What the migrator asks of PostgreSQL's catalog (does its own table exist?), answered from the
// current schema alone. Kysely's PostgresIntrospector reads the columns of every schema in the
// database and calls has_schema_privilege() and pg_get_serial_sequence() on each schema's name;
// a schema another process drops during that read fails it ("schema … does not exist", seen in CI
// while test files drop theirs), and with it a migration that had nothing to do with that schema.
import {
  DEFAULT_MIGRATION_LOCK_TABLE, DEFAULT_MIGRATION_TABLE, sql,
  type DatabaseIntrospector, type DatabaseMetadata, type DatabaseMetadataOptions, type Dialect, type Kysely, type SchemaMetadata, type TableMetadata,
} from 'kysely';

const KYSELY_TABLES = [DEFAULT_MIGRATION_TABLE, DEFAULT_MIGRATION_LOCK_TABLE];

interface ColumnRow {
  table: string;
  kind: string;
  schema: string;
  column: string;
  not_null: boolean;
  has_default: boolean;
  auto_incrementing: boolean;
  type: string;
  type_schema: string;
}

class CurrentSchemaIntrospector implements DatabaseIntrospector {
  constructor(private readonly db: Kysely<unknown>, private readonly inner: DatabaseIntrospector) {}

  getSchemas(): Promise<SchemaMetadata[]> {
    // A plain list of names: no function is called on them.
    return this.inner.getSchemas();
  }

  async getTables(options: DatabaseMetadataOptions = { withInternalKyselyTables: false }): Promise<TableMetadata[]> {
    const { rows } = await sql<ColumnRow>`
      select c.relname as "table", c.relkind as kind, ns.nspname as "schema", a.attname as "column",
             a.attnotnull as not_null, a.atthasdef as has_default, typ.typname as "type", dtns.nspname as type_schema,
             (a.attidentity <> '' or exists (
               select 1 from pg_catalog.pg_attrdef d
               where d.adrelid = c.oid and d.adnum = a.attnum and pg_catalog.pg_get_expr(d.adbin, d.adrelid) like 'nextval(%'
             )) as auto_incrementing
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
      join pg_catalog.pg_attribute a on a.attrelid = c.oid
      join pg_catalog.pg_type typ on typ.oid = a.atttypid
      join pg_catalog.pg_namespace dtns on dtns.oid = typ.typnamespace
      where ns.nspname = current_schema() and c.relkind in ('r', 'v', 'p') and a.attnum >= 0 and not a.attisdropped
      order by c.relname, a.attnum`.execute(this.db);
    const tables = new Map<string, TableMetadata & { columns: TableMetadata['columns'][number][] }>();
    for (const r of rows) {
      if (!options.withInternalKyselyTables && KYSELY_TABLES.includes(r.table)) continue;
      let table = tables.get(r.table);
      if (!table) tables.set(r.table, table = { name: r.table, schema: r.schema, isView: r.kind === 'v', columns: [] });
      table.columns.push({
        name: r.column, dataType: r.type, dataTypeSchema: r.type_schema,
        isNullable: !r.not_null, isAutoIncrementing: r.auto_incrementing, hasDefaultValue: r.has_default,
      });
    }
    return [...tables.values()];
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}

/** A PostgreSQL dialect whose introspector reads the current schema only. */
export function introspectingCurrentSchema(inner: Dialect): Dialect {
  return {
    createAdapter: () => inner.createAdapter(),
    createDriver: () => inner.createDriver(),
    createQueryCompiler: () => inner.createQueryCompiler(),
    createIntrospector: (db) => new CurrentSchemaIntrospector(db, inner.createIntrospector(db)),
  };
}
