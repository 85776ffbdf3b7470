// npm run build, second step: bundles the compiled server (dist/src) into dist/bundle, which
// `npm start` and the `tessera` command run. Node 20 has no module compile cache, and loading
// Tessera's thousand-odd module files (Kysely alone is 279) was half of its start-up: from the
// bundle it was ready in 420 ms instead of 731 and idled at 92 MB instead of 99.5
// (docs/performance.md, "Memory and start-up"). Code loaded only on demand (the app in a worker
// but not in the cluster's primary, the commands' services) stays in chunks of its own, loaded as
// before. Nothing is minified or renamed, so stack traces keep the functions' names.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const outdir = join(root, 'dist/bundle');

// Packages left to be loaded from node_modules, as they are without the bundle:
const external = [
  'better-sqlite3', // a native addon, found by its path
  '@fastify/swagger', '@fastify/swagger-ui', // read their own package.json and static files by path
  'pino', // starts its transports in threads by file path
  'pino-pretty', // a development dependency: looked for at run time, absent from production installs
  // loaded only when configured or first needed: in the bundle they would only be parsed for nothing
  'pg', 'ioredis', 'nodemailer', '@zxcvbn-ts/*',
];

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'dist/src/cli.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // Bundled CommonJS packages call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __tesseraRequire } from 'node:module'; const require = __tesseraRequire(import.meta.url);" },
  logLevel: 'warning',
});
