// What a prune costs where the tables are large and nothing has expired (the worst case: every
// step reads to its end): a fresh SQLite file with Tessera's schema and N unexpired rows in each of
// `sessions`, `domain_tokens` and `audit_events`, pruned with migration 0801's indexes and without
// them, twice each way. Prints the prune's wall and CPU time and its longest statement, for which
// the event loop stood still (better-sqlite3 is synchronous).
//
//   node --import tsx bench/prune-size.ts [rows per table, default 1000000]
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { openDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { prune } from '../src/db/retention.js';

const DAY = 86_400_000;
const rows = Number(process.argv[2] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'tessera-prune-'));
const file = join(dir, 'tessera.db');
const config = { databaseUrl: `sqlite:${file}`, databaseSchema: undefined };

try {
  const db = await openDatabase(config);
  await migrateToLatest(db);
  await db.close();

  // Rows straight into the file (no users or accounts behind them: foreign keys off here only).
  const raw = new SQLite(file);
  raw.pragma('foreign_keys = OFF');
  const indexes = (raw.prepare("select name, sql from sqlite_master where type = 'index' and name in (?, ?, ?)")
    .all('sessions_expiry', 'domain_tokens_expiry', 'audit_events_created')) as { name: string; sql: string }[];
  if (indexes.length !== 3) throw new Error('migration 0801 is not applied');
  const now = Date.now();
  const hash = (s: string) => createHash('sha256').update(s).digest('hex');
  raw.transaction(() => {
    const session = raw.prepare('insert into sessions (id_hash, user_id, created_at, expires_at) values (?, ?, ?, ?)');
    const token = raw.prepare("insert into domain_tokens (token_hash, kind, account_id, domain_id, domain_user_id, created_at, expires_at) values (?, 'user', ?, ?, ?, ?, ?)");
    const event = raw.prepare("insert into audit_events (id, org_id, actor_type, actor_id, action, target_type, target_id, created_at) values (?, null, 'user', ?, 'login', 'user', ?, ?)");
    for (let i = 0; i < rows; i++) {
      session.run(hash(`s${i}`), randomUUID(), now, now + DAY);
      token.run(hash(`t${i}`), randomUUID(), randomUUID(), randomUUID(), now, now + DAY);
      event.run(randomUUID(), randomUUID(), randomUUID(), now - i);
    }
  })();
  raw.pragma('wal_checkpoint(TRUNCATE)');

  console.log(`${rows.toLocaleString('en')} unexpired rows in each of sessions, domain_tokens, audit_events`);
  for (let round = 0; round < 2; round++) {
    for (const withIndexes of [true, false]) {
      for (const { name, sql } of indexes) raw.exec(withIndexes ? sql.replace(/^CREATE INDEX/i, 'CREATE INDEX IF NOT EXISTS') : `drop index if exists "${name}"`);
      let longest = { ms: 0, sql: '' };
      const measured = await openDatabase(config, (ms, sql) => { if (ms > longest.ms) longest = { ms, sql }; });
      const started = performance.now();
      const cpu = process.cpuUsage();
      await prune(measured.kysely, Date.now());
      const used = process.cpuUsage(cpu);
      const ms = performance.now() - started;
      await measured.close();
      console.log(`indexes ${withIndexes ? 'on ' : 'off'}: prune ${ms.toFixed(0)} ms (CPU ${((used.user + used.system) / 1000).toFixed(0)} ms), longest statement ${longest.ms.toFixed(1)} ms: ${longest.sql.slice(0, 40)}…`);
    }
  }
  raw.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
