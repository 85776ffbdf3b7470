// Per-instance symmetric secrets (CSRF token key, webhook encryption key), generated on first
// start and stored, so every process sharing the database agrees on them. Sealed at rest under
// MASTER_KEY when one is configured (sealed.ts); a value stored before that is sealed now.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { Sealer } from './sealed.js';

/** A setting's row, bound into its sealed value. */
export const settingRow = (key: string): string => `settings:${key}`;

export async function instanceSecret(db: Kysely<Database>, name: string, sealer: Sealer): Promise<Buffer> {
  const row = settingRow(name);
  const read = () => db.selectFrom('settings').select('value').where('key', '=', name).executeTakeFirst();
  let stored = (await read())?.value;
  if (stored === undefined) {
    const value = sealer.seal(randomBytes(32).toString('base64url'), row);
    await db.insertInto('settings').values({ key: name, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
    // Another process may have won the race: read back whichever value is stored.
    stored = (await read())!.value;
  } else if (sealer.enabled && !Sealer.isSealed(stored)) {
    await db.updateTable('settings').set({ value: sealer.seal(stored, row) }).where('key', '=', name).where('value', '=', stored).execute();
  }
  return Buffer.from(sealer.open(stored, row), 'base64url');
}
