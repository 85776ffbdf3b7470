// Private access tokens' rows. The token itself is a signed JWT shown once; only its id (jti),
// name, scope and times are kept, so a database leak hands out no usable token.
import type { Kysely } from 'kysely';
import type { Database, PrivateAccessTokensTable } from '../db/schema.js';
import { prepared } from '../db/prepared.js';

type Db = Kysely<Database>;

const byId = prepared<{ id: string }>()((db, p) => db.selectFrom('private_access_tokens').selectAll().where('id', '=', p.id));

export const findPrivateToken = (db: Db, id: string): Promise<PrivateAccessTokensTable | undefined> => byId.first(db, { id });

export async function insertPrivateToken(db: Db, row: PrivateAccessTokensTable): Promise<void> {
  await db.insertInto('private_access_tokens').values(row).execute();
}

export const listPrivateTokens = (db: Db, orgId: string): Promise<PrivateAccessTokensTable[]> =>
  db.selectFrom('private_access_tokens').selectAll().where('org_id', '=', orgId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();

/** Marks the token revoked; false when it was not this organisation's or already revoked. */
export async function markRevoked(db: Db, orgId: string, id: string, now: number): Promise<boolean> {
  const res = await db.updateTable('private_access_tokens').set({ revoked_at: now })
    .where('id', '=', id).where('org_id', '=', orgId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function touchPrivateToken(db: Db, id: string, now: number): Promise<void> {
  await db.updateTable('private_access_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
}
