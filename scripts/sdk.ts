// npm run sdk: writes the OpenAPI document of this build to sdk/openapi.json and the TypeScript
// types openapi-typescript makes of it to sdk/schema.d.ts. `npm run sdk -- --check` writes
// nothing and fails when either committed file differs from what this build makes (npm test
// runs it, so a route schema cannot change without the SDK following).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/app.js';

const root = join(import.meta.dirname, '..');
const check = process.argv.includes('--check');

// A fixed public address, so the document does not depend on where it is made.
const { app } = await buildApp(loadConfig({ DATABASE_URL: 'sqlite::memory:', PUBLIC_URL: 'https://tessera.example', PRUNE_INTERVAL_SECONDS: '0', LOG_LEVEL: 'silent' }), { logLevel: 'silent' });
await app.ready();
const document = app.swagger() as object;
await app.close();

const files: Record<string, string> = {
  'sdk/openapi.json': `${JSON.stringify(document, null, 2)}\n`,
  'sdk/schema.d.ts': astToString(await openapiTS(document as Parameters<typeof openapiTS>[0])),
};

let stale = 0;
for (const [file, content] of Object.entries(files)) {
  const path = join(root, file);
  if (!check) {
    writeFileSync(path, content);
    process.stdout.write(`wrote ${file}\n`);
    continue;
  }
  let committed = '';
  try {
    committed = readFileSync(path, 'utf8');
  } catch {
    // Missing counts as stale.
  }
  if (committed !== content) {
    stale++;
    console.error(`${file} is stale: run npm run sdk and commit the result`);
  }
}
process.exit(stale ? 1 : 0);
