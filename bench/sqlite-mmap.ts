// What SQLite's memory map costs where several processes write one file (src/db/database.ts maps
// it only where the process is the one writer). Each process runs rounds of what a refresh grant
// asks of SQLite, one indexed read and one insert, and reports its CPU per round; one process
// alone, then two at once, with mmap_size 0 and 1 GiB, three times over, interleaved.
//
//   node --import tsx bench/sqlite-mmap.ts [rounds per process, default 20000]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import { openAsTessera } from './sqlite-open.js';

const ROWS = 200_000;
const GIB = 1024 * 1024 * 1024;

interface Figures { cpuUs: number; systemUs: number }

/** In a child: the rounds, on a connection as Tessera opens it (sqlite-open.ts). */
function rounds(file: string, mmap: number, n: number, tag: string): Figures {
  const db = openAsTessera(file, mmap);
  const read = db.prepare('select v from big where id = ?');
  const write = db.prepare('insert into log (id, v) values (?, ?)');
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    read.get(Math.floor(Math.random() * ROWS));
    write.run(`${tag}-${i}`, 'x'.repeat(100));
  }
  const cpu = process.cpuUsage(before);
  db.close();
  return { cpuUs: (cpu.user + cpu.system) / n, systemUs: cpu.system / n };
}

function child(file: string, mmap: number, n: number, tag: string): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', file, String(mmap), String(n), tag], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Figures) : reject(new Error(`child exited ${code}`))));
  });
}

async function main(n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-mmap-'));
  const file = join(dir, 'bench.db');
  try {
    const db = new SQLite(file);
    db.pragma('journal_mode = WAL');
    db.exec('create table big (id integer primary key, v text); create table log (id text primary key, v text) without rowid');
    const insert = db.prepare('insert into big values (?, ?)');
    db.transaction(() => { for (let i = 0; i < ROWS; i++) insert.run(i, 'y'.repeat(200)); })();
    db.close();
    console.log(`${n} rounds a process (an indexed read of ${ROWS.toLocaleString('en')} rows, an insert); CPU µs a round (of which in the kernel)`);
    for (let r = 0; r < 3; r++) {
      for (const mmap of [0, GIB]) {
        for (const processes of [1, 2]) {
          const figures = await Promise.all(Array.from({ length: processes }, (_, k) => child(file, mmap, n, `r${r}n${processes}p${k}m${mmap}`)));
          console.log(`mmap_size ${mmap ? '1 GiB' : '0    '}, ${processes} process${processes > 1 ? 'es' : '  '}: ${figures.map((f) => `${f.cpuUs.toFixed(1)} (${f.systemUs.toFixed(1)})`).join(', ')}`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  process.stdout.write(JSON.stringify(rounds(argv[1]!, Number(argv[2]), Number(argv[3]), argv[4]!)));
} else {
  await main(Number(argv[0] ?? 20_000));
}
