#!/usr/bin/env node
// tessera start | migrate | keys rotate
import { loadConfig, ConfigError } from './config.js';
import { buildApp } from './app.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { SigningKeys } from './keys/signing-keys.js';
import { systemClock } from './lib/clock.js';

const USAGE = `usage: tessera <command>
  start          run the server (applies pending migrations first)
  migrate        apply pending database migrations and exit
  keys rotate    add a new signing key; older keys stay published until their tokens expire`;

async function main(argv: string[]): Promise<number> {
  const [command, sub] = argv;
  const config = loadConfig();
  switch (command) {
    case 'start': {
      const started = performance.now();
      const { app } = await buildApp(config);
      if (config.sms.provider === 'outbox' && !config.production) {
        app.log.warn('SMS_PROVIDER=outbox: text messages are kept in the database and shown at /outbox (development only)');
      }
      await app.listen({ port: config.port, host: config.host });
      app.log.info({ publicUrl: config.publicUrl, readyMs: Math.round(performance.now() - started) }, 'Tessera is ready');
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          app.log.info({ signal }, 'shutting down');
          void app.close().then(() => process.exit(0));
        });
      }
      return -1;
    }
    case 'migrate': {
      const db = await openDatabase(config);
      try {
        const applied = await migrateToLatest(db);
        console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'keys': {
      if (sub !== 'rotate') break;
      const db = await openDatabase(config);
      try {
        await migrateToLatest(db);
        const keys = new SigningKeys(db.kysely, systemClock);
        await keys.init();
        console.log(`new signing key: ${await keys.rotate()}`);
      } finally {
        await db.close();
      }
      return 0;
    }
  }
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exit(code);
}, (err: unknown) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exit(1);
});
