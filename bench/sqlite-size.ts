// What the data size costs the refresh grant's SQLite work, apart from everything else a request
// does and from the host's drift: on the two databases `npm run bench -- --large --keep` leaves
// behind, rounds of what a refresh asks of SQLite (the link with its family, then the next link
// appended, twenty to a transaction as group commit writes them), one process with the memory map
// Tessera gives a lone writer, then two without it as workers run, small and large in turn, three
// times over. Prints CPU µs a refresh and the KB it read from storage. It appends links to the
// kept files: use it on kept runs only.
//
//   node --import tsx bench/sqlite-size.ts <small tessera.db> <large tessera.db> [refreshes per process, default 20000]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import { uuidv7 } from '../src/lib/ids.js';
import { openAsTessera } from './sqlite-open.js';
import { procStorageReadBytes } from './procs.js';

const GIB = 1024 * 1024 * 1024;
const DAY = 86_400_000;
const GROUP = 20;

// src/oauth/queries.ts's linkById and linkInsert, as SQLite receives them.
const LOOKUP = `select l.family_id, l.token_hash, l.expires_at, f.connector_id, f.user_id, f.scope, f.auth_time, f.revoked_at,
  exists (select 1 from oauth_refresh_links n where n.spends = l.id) as spent
  from oauth_refresh_links l inner join oauth_families f on f.id = l.family_id where l.id = ?`;
const APPEND = 'insert into oauth_refresh_links (id, family_id, spends, token_hash, created_at, expires_at) values (?, ?, ?, ?, ?, ?)';

/** A refresh's CPU µs and the KB it had read from storage (pages the kernel no longer held). */
interface Cost { cpuUs: number; readKb: number }

const show = (c: Cost): string => `${c.cpuUs.toFixed(1)} µs (${c.readKb.toFixed(2)} KB read)`;

/**
 * In a child: refreshes each chain's newest link in turn, as the bench's clients do, on a
 * connection as Tessera opens it (sqlite-open.ts). The chains' new heads go back to the file, so
 * the next child spends links that are still unspent.
 */
function refreshes(file: string, mmap: number, headsFile: string, n: number): Cost {
  const db = openAsTessera(file, mmap);
  const heads = JSON.parse(readFileSync(headsFile, 'utf8')) as string[];
  const lookup = db.prepare(LOOKUP);
  const append = db.prepare(APPEND);
  const appendAll = db.transaction((links: { k: number; id: string; familyId: string }[]) => {
    const now = Date.now();
    for (const l of links) append.run(l.id, l.familyId, heads[l.k], 'h'.repeat(64), now, now + 30 * DAY);
  });
  let k = 0;
  const before = process.cpuUsage();
  const readBefore = procStorageReadBytes(process.pid);
  for (let done = 0; done < n; done += GROUP) {
    const links: { k: number; id: string; familyId: string }[] = [];
    for (let j = 0; j < GROUP; j++, k = (k + 1) % heads.length) {
      const row = lookup.get(heads[k]) as { family_id: string } | undefined;
      if (!row) throw new Error(`link ${heads[k]} not found`);
      // The server's own link ids (time-ordered: appends go to the end of the key).
      links.push({ k, id: uuidv7(), familyId: row.family_id });
    }
    appendAll(links);
    for (const l of links) heads[l.k] = l.id;
  }
  const cpu = process.cpuUsage(before);
  const read = procStorageReadBytes(process.pid) - readBefore;
  db.close();
  writeFileSync(headsFile, JSON.stringify(heads));
  return { cpuUs: (cpu.user + cpu.system) / n, readKb: read / 1024 / n };
}

function child(file: string, mmap: number, headsFile: string, n: number): Promise<Cost> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', file, String(mmap), headsFile, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Cost) : reject(new Error(`child exited ${code}`))));
  });
}

async function main(files: Record<'small' | 'large', string>, n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-size-'));
  try {
    const heads = (name: string, half: number) => join(dir, `${name}-${half}.json`);
    for (const [name, file] of Object.entries(files)) {
      // The bench's own families: the newest links (ids are time-ordered) not yet spent, one
      // half for each of two processes.
      const db = new SQLite(file, { readonly: true });
      const ids = db.prepare(`select id from (select id from oauth_refresh_links order by id desc limit 60000) l
        where not exists (select 1 from oauth_refresh_links n where n.spends = l.id) limit 20000`).pluck().all() as string[];
      db.close();
      for (const half of [0, 1]) writeFileSync(heads(name, half), JSON.stringify(ids.filter((_, i) => i % 2 === half)));
      console.log(`${name}: ${file}, ${ids.length} chains`);
    }
    console.log(`${n} refreshes a process; CPU µs a refresh, and what it read from storage`);
    for (let r = 0; r < 3; r++) {
      for (const name of ['small', 'large'] as const) {
        const one = await child(files[name], GIB, heads(name, 0), n);
        const two = await Promise.all([0, 1].map((half) => child(files[name], 0, heads(name, half), n)));
        console.log(`round ${r + 1}, ${name}: one process ${show(one)}; two processes ${two.map(show).join(', ')}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  process.stdout.write(JSON.stringify(refreshes(argv[1]!, Number(argv[2]), argv[3]!, Number(argv[4]))));
} else {
  if (argv.length < 2) throw new Error('usage: bench/sqlite-size.ts <small tessera.db> <large tessera.db> [refreshes per process]');
  await main({ small: argv[0]!, large: argv[1]! }, Number(argv[2] ?? 20_000));
}
