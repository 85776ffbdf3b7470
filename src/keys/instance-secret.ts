// Per-instance symmetric secrets (CSRF token key, …), generated on first start and stored, so
// every process sharing the database agrees on them.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export async function instanceSecret(db: Kysely<Database>, name: string): Promise<Buffer> {
  const existing = await db.selectFrom('settings').select('value').where('key', '=', name).executeTakeFirst();
  if (existing) return Buffer.from(existing.value, 'base64url');
  const value = randomBytes(32).toString('base64url');
  await db.insertInto('settings').values({ key: name, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
  // Another process may have won the race: read back whichever value is stored.
  const row = await db.selectFrom('settings').select('value').where('key', '=', name).executeTakeFirstOrThrow();
  return Buffer.from(row.value, 'base64url');
}
