// The tessera command as `npm start` and the `tessera` bin run it: the bundle `npm run build`
// writes (scripts/bundle.ts), so the tests that start Tessera as a process try what ships. `npm
// test` builds first; run on its own after a change to src/, a test says so instead of quietly
// trying the old build.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../..');
const bundle = join(root, 'dist/bundle/cli.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

let checked = false;

/** The node arguments that run `tessera` (the command's own arguments follow). */
export function tesseraCommand(): string[] {
  if (!checked) {
    let built: number;
    try {
      built = statSync(bundle).mtimeMs;
    } catch {
      throw new Error('dist/bundle/cli.js is missing: run npm run build');
    }
    if (newestSource(join(root, 'src')) > built) throw new Error('src/ changed after dist/bundle was built: run npm run build');
    checked = true;
  }
  return [bundle];
}
