// SQLite's WAL is checkpointed by a thread (src/db/checkpointer.ts), never by a request's
// commit: the pages a burst of writes left in the WAL reach the database file without the
// writer's connection checkpointing, and under writes that never pause the WAL still starts over
// (its RESTART bound), every write succeeding meanwhile.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase, type Db } from '../../src/db/database.js';
import { RESTART_PAGES } from '../../src/db/checkpointer.js';
import { onPostgres } from '../helpers/app.js';

const PAGE = 4096;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the WAL checkpointer thread', { skip: onPostgres() && 'SQLite only' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ckpt-'));
  const file = join(dir, 'db.sqlite');
  let db: Db;

  before(async () => {
    db = await openDatabase({ databaseUrl: `sqlite:${file}`, databaseSchema: undefined });
    await sql`create table filler (n integer primary key, payload blob not null)`.execute(db.kysely);
  });
  after(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (n: number) => sql`insert into filler (n, payload) values (${n}, randomblob(3000))`.execute(db.kysely);
  const walPages = () => statSync(`${file}-wal`).size / PAGE;

  test('the writer never checkpoints; the thread copies its pages into the database', async () => {
    const autocheckpoint = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db.kysely);
    assert.deepEqual(autocheckpoint.rows, [{ wal_autocheckpoint: 0 }]);
    const before = statSync(file).size;
    for (let n = 0; n < 3000; n++) await write(n);
    assert.ok(walPages() >= 3000, `the writes are in the WAL (${walPages()} pages)`);
    const deadline = Date.now() + 5000;
    while (statSync(file).size - before < 3000 * PAGE && Date.now() < deadline) await sleep(50);
    assert.ok(statSync(file).size - before >= 3000 * PAGE, 'the rows reached the database file');
  });

  test('writes that never pause still let the WAL start over', async () => {
    // Two and a half times the bound's worth of pages, one commit after another with no idle
    // moment between. The WAL's frame count is read from its index (the -shm file's header,
    // mxFrame: sqlite.org/walformat.html), since asking SQLite would checkpoint.
    const frames = () => readFileSync(`${file}-shm`).readUInt32LE(16);
    let most = 0;
    let restarts = 0;
    for (let n = 10_000; n < 10_000 + 2.5 * RESTART_PAGES; n++) {
      await write(n);
      if (n % 250 === 0) {
        const now = frames();
        if (now < most) restarts++;
        most = Math.max(most, now);
      }
    }
    assert.ok(restarts >= 1, 'the WAL began again while the writes went on');
    assert.ok(most <= RESTART_PAGES * 1.5, `the WAL stayed near its bound (at most ${most} frames)`);
    const rows = await sql<{ c: number }>`select count(*) as c from filler`.execute(db.kysely);
    assert.deepEqual(rows.rows, [{ c: 3000 + 2.5 * RESTART_PAGES }], 'every write succeeded');
  });
});
