// The browser the portal tests drive. Playwright cannot download its own build here, so the tests
// find a Chromium on the machine, or provide one the way Playwright's `install --with-deps` does:
// as root on Debian or Ubuntu, Debian's `chromium` package through apt. CHROMIUM_PATH overrides.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'];
const LOCK = join(tmpdir(), 'tessera-chromium-install.lock');

const found = (): string | undefined => CANDIDATES.find((p) => existsSync(p));

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Installs Debian's chromium; one process at a time (test files run in parallel). */
function install(say: (line: string) => void): string {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another test process is installing: wait for it, then use what it installed.
      if (Date.now() > deadline) throw new Error(`waited 15 minutes for ${LOCK}; remove it if no install is running`);
      sleepSync(1000);
      const path = found();
      if (path) return path;
    }
  }
  try {
    const path = found();
    if (path) return path;
    say('browser tests: no Chromium on this machine; installing Debian\'s chromium package with apt-get (root), once…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    const installed = found();
    if (!installed) throw new Error('apt-get installed chromium, but no chromium binary is where Debian puts it');
    say(`browser tests: installed ${installed}`);
    return installed;
  } finally {
    rmdirSync(LOCK);
  }
}

/**
 * The Chromium to launch: CHROMIUM_PATH, else one already installed, else Debian's package
 * installed now (root with apt-get only). Anything else is an error that says what to do.
 */
export function chromiumExecutable(say: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): string {
  const override = process.env.CHROMIUM_PATH;
  if (override) {
    if (!existsSync(override)) throw new Error(`CHROMIUM_PATH=${override} does not exist`);
    return override;
  }
  const path = found();
  if (path) return path;
  const root = process.getuid?.() === 0;
  const apt = existsSync('/usr/bin/apt-get');
  if (root && apt) return install(say);
  throw new Error('The browser tests need Chromium: install it (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary.'
    + (apt ? ' Run the tests as root to have them install it.' : ''));
}
