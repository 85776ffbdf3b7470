// Every row of every table of a test app's database as one string, for tests that prove a
// plaintext credential is stored nowhere (test/security/no-plaintext.test.ts,
// test/kandy/no-plaintext.test.ts) or that a refused request changed nothing (test/http/fuzz.test.ts).
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.js';

export async function dumpAllTables(db: Db): Promise<{ tables: string[]; dump: string }> {
  const tables = db.dialect === 'sqlite'
    ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db.kysely)).rows.map((r) => r.name)
    : (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(db.kysely)).rows.map((r) => r.name);
  let dump = '';
  for (const table of tables) {
    // Sorted: PostgreSQL returns rows in physical order, which an UPDATE that changes nothing still moves.
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db.kysely)).rows.map((r) => JSON.stringify(r)).sort();
    dump += `\n${table}: [${rows.join(',')}]`;
  }
  return { tables, dump };
}
