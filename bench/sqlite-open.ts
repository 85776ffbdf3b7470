// The connection the SQLite experiments (sqlite-mmap.ts, sqlite-size.ts) measure: Tessera's
// pragmas (src/db/database.ts) with a memory map of the size asked for, except that a busy lock
// is waited for inside SQLite, whose sleeps cost no CPU, instead of between event-loop turns.
import SQLite from 'better-sqlite3';

export function openAsTessera(file: string, mmapBytes: number): SQLite.Database {
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma(`mmap_size = ${mmapBytes}`);
  return db;
}
