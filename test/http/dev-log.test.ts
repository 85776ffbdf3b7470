// The log a person reads: in development at a terminal, one readable line per event (pino-pretty)
// and the SMS outbox's PIN as a banner; in production, or into a pipe, one JSON object per line.
// Tessera runs under `script`, which gives it a real terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tesseraCommand } from '../helpers/command.js';

/**
 * Starts `tessera start` (under a terminal when `tty`), answers what it printed until it was
 * ready; `then` may talk to it (given its address) before it is stopped, and what it printed by
 * then is answered instead.
 */
async function startOutput(env: Record<string, string>, tty: boolean, then?: (base: string) => Promise<void>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-log-'));
  const command = [process.execPath, ...tesseraCommand(), 'start'].join(' ');
  const child = tty
    ? spawn('script', ['-qfc', command, '/dev/null'], { env: { ...process.env, ...env, DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`, PORT: '0', HOST: '127.0.0.1' } })
    : spawn(process.execPath, [...tesseraCommand(), 'start'], { env: { ...process.env, ...env, DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`, PORT: '0', HOST: '127.0.0.1' } });
  let out = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in 30 s: ${out}`)), 30_000);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Tessera is ready')) { clearTimeout(timer); resolve(); }
      });
      child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${out}`)); });
    });
    if (then) {
      await then(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!);
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    child.removeAllListeners('exit');
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

test('in development at a terminal the log is readable lines; into a pipe it stays JSON', async () => {
  const env = { NODE_ENV: '', LOG_LEVEL: 'info' };
  const pretty = await startOutput(env, true);
  // A coloured level and the message, not a JSON object.
  const ESC = '\u001b';
  assert.ok(pretty.includes(`${ESC}[32mINFO${ESC}[39m: ${ESC}[36mTessera is ready`), pretty);
  assert.match(pretty, /\[\d\d:\d\d:\d\d\] /);
  assert.doesNotMatch(pretty, /"level":30/);
  const piped = await startOutput(env, false);
  const ready = piped.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string }).find((l) => l.msg === 'Tessera is ready');
  assert.ok(ready, piped);
});

/** A person signs up and adds a phone number over HTTP, as the portal's forms do. */
async function sendPin(base: string): Promise<void> {
  let cookies = '';
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) cookies = `${cookies}; ${c.split(';')[0]}`;
  };
  const csrf = async (path: string) => {
    const res = await fetch(`${base}${path}`, { headers: { cookie: cookies }, redirect: 'manual' });
    keep(res);
    return /name="_csrf" value="([^"]+)"/.exec(await res.text())![1]!;
  };
  const post = async (path: string, form: Record<string, string>) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST', redirect: 'manual', body: new URLSearchParams({ _csrf: await csrf(path === '/signup' ? '/signup' : '/phones'), ...form }),
      headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded', origin: base },
    });
    keep(res);
    assert.equal(res.status, 303, `${path}: ${await res.text()}`);
  };
  await post('/signup', { name: 'Log Reader', email: 'log@example.com', password: 'correct horse battery' });
  await post('/phones', { phone: '+14155550191' });
}

test('in development the PIN of the SMS outbox stands out as a banner', async () => {
  const out = await startOutput({ NODE_ENV: '', LOG_LEVEL: 'info', PUBLIC_URL: 'http://127.0.0.1' }, true, sendPin);
  const ESC = '\u001b';
  assert.match(out, new RegExp(`${ESC}\\[1;30;43m SMS to \\+14155550191 ${ESC}\\[0m ${ESC}\\[1;33mYour Tessera verification PIN is \\d{6}\\.`));
});

test('in production the log is JSON even at a terminal', async () => {
  const out = await startOutput({ NODE_ENV: 'production', LOG_LEVEL: 'info', PUBLIC_URL: 'https://tessera.example' }, true);
  const line = out.split(/\r?\n/).find((l) => l.includes('Tessera is ready'))!;
  assert.equal((JSON.parse(line) as { msg: string }).msg, 'Tessera is ready');
});
