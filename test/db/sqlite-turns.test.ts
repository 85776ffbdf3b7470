// Processes sharing one SQLite file take turns at its write lock without stopping their event
// loops (src/db/sqlite-turns.ts): another connection holds the lock, as another worker would, and
// this process's write waits between event-loop turns — timers still fire — then completes; a
// transaction holds the lock from its BEGIN, so no other process can commit between its read and
// its write (which would fail it with SQLITE_BUSY_SNAPSHOT).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { openDatabase, type Db } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';

describe('SQLite: processes take turns at the write lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-turns-'));
  const file = join(dir, 'tessera.db');
  let db: Db;
  let other: SQLite.Database;
  const plan = (id: string) => ({ id, name: id, max_users: 5, created_at: 1 });

  before(async () => {
    db = await openDatabase({ databaseUrl: `sqlite:${file}`, databaseSchema: undefined });
    await migrateToLatest(db);
    // Another process's connection, with SQLite's defaults for waiting (none).
    other = new SQLite(file);
  });
  after(async () => {
    other.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a write outside a transaction waits for the lock without stopping the event loop, then lands', async () => {
    other.exec('begin immediate');
    const write = db.kysely.insertInto('plans').values(plan('turns-a')).execute();
    let landed = false;
    void write.then(() => { landed = true; }, () => undefined);
    // The other process lets go only after ten turns of this event loop: a write that waited
    // inside the synchronous call would stop them and fail busy instead (counting turns, not
    // milliseconds, keeps this true on a loaded machine).
    let ticks = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        if (landed) return resolve();
        if (++ticks < 10) return void setTimeout(tick, 1);
        other.exec('commit');
        resolve();
      };
      setTimeout(tick, 1);
    });
    await write;
    assert.equal(ticks, 10, 'the write landed while the other process held the lock');
    assert.equal((await db.kysely.selectFrom('plans').select('id').where('id', '=', 'turns-a').executeTakeFirst())?.id, 'turns-a');
  });

  test('a transaction waits at BEGIN for its turn, then holds the lock until it commits', async () => {
    other.exec('begin immediate');
    let inside = false;
    const tx = db.kysely.transaction().execute(async (trx) => {
      inside = true;
      const before = await trx.selectFrom('plans').select('id').where('id', '=', 'turns-b').executeTakeFirst();
      // Between this transaction's read and its write another process cannot commit: it cannot
      // even begin writing.
      assert.throws(() => other.exec('begin immediate'), { code: 'SQLITE_BUSY' });
      await trx.insertInto('plans').values(plan('turns-b')).execute();
      return before;
    });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(inside, false, 'the transaction has not begun while the other holds the lock');
    other.exec('commit');
    assert.equal(await tx, undefined);
    assert.equal((await db.kysely.selectFrom('plans').select('id').where('id', '=', 'turns-b').executeTakeFirst())?.id, 'turns-b');
  });

  test('a statement that fails for another reason is not retried; a failed transaction leaves nothing', async () => {
    await assert.rejects(db.kysely.insertInto('plans').values(plan('turns-a')).execute(), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    await assert.rejects(db.kysely.transaction().execute(async (trx) => {
      await trx.insertInto('plans').values(plan('turns-c')).execute();
      await trx.insertInto('plans').values(plan('turns-a')).execute();
    }), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    assert.equal(await db.kysely.selectFrom('plans').select('id').where('id', '=', 'turns-c').executeTakeFirst(), undefined);
    // And the lock was let go: another process writes at once.
    other.exec('begin immediate');
    other.exec('commit');
  });
});

// Another process's commit makes SQLite drop a connection's memory map at its next read, so the
// map pays only where this process is the file's one writer (src/db/database.ts). Which files a
// process maps, Linux lists in /proc/self/maps.
describe('SQLite: the memory map', { skip: process.platform !== 'linux' && 'reads /proc/self/maps' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-mmap-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const mapped = (file: string) => readFileSync('/proc/self/maps', 'utf8').split('\n').some((l) => l.endsWith(` ${file}`));

  test('a process on its own maps the file it reads; a worker beside others writing it does not', async () => {
    for (const [name, share, maps] of [['alone.db', undefined, true], ['worker.db', { poolSize: 5, writers: 2 }, false]] as const) {
      const file = join(dir, name);
      const db = await openDatabase({ databaseUrl: `sqlite:${file}`, databaseSchema: undefined }, undefined, share);
      try {
        await migrateToLatest(db);
        // Pages from the file itself, not the WAL: a read from the WAL would map nothing either way.
        await sql`pragma wal_checkpoint(truncate)`.execute(db.kysely);
        await db.kysely.selectFrom('plans').select('id').execute();
        assert.equal(mapped(file), maps, name);
      } finally {
        await db.close();
      }
    }
  });
});
