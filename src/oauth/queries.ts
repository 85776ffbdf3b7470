// The authorization server's queries. Each takes the executor, so it runs inside or outside a
// transaction. Codes and refresh tokens are looked up by their SHA-256 only.
import { sql, SqliteAdapter, type Kysely } from 'kysely';
import type { ConnectorsTable, Database, OAuthCodesTable, OAuthFamiliesTable, OAuthRefreshLinksTable } from '../db/schema.js';
import { prepared } from '../db/prepared.js';
import { perTurn, runGrouped } from '../db/group-commit.js';
import { isUniqueViolation } from '../deps.js';
import { safeEqual, sha256 } from '../lib/hash.js';
import { refreshLinkId, type MintedLink } from './refresh-token-format.js';

type Db = Kysely<Database>;

// The token endpoint's own statements run on every request: precompiled (db/prepared.ts).
const familyInsert = prepared<OAuthFamiliesTable>()((db, p) => db.insertInto('oauth_families').values({
  id: p.id, connector_id: p.connector_id, user_id: p.user_id, scope: p.scope, auth_time: p.auth_time, created_at: p.created_at,
  revoked_at: p.revoked_at, revoked_reason: p.revoked_reason, expires_at: p.expires_at,
}));
const familyById = prepared<{ id: string }>()((db, p) => db.selectFrom('oauth_families').selectAll().where('id', '=', p.id));
const linkInsert = prepared<OAuthRefreshLinksTable>()((db, p) => db.insertInto('oauth_refresh_links').values({
  id: p.id, family_id: p.family_id, spends: p.spends, token_hash: p.token_hash, created_at: p.created_at, expires_at: p.expires_at,
}));
// A token's link with its family, and whether a later link spends it (the token was used).
const linkById = prepared<{ id: string }>()((db, p) => db.selectFrom('oauth_refresh_links as l')
  .innerJoin('oauth_families as f', 'f.id', 'l.family_id')
  .select(['l.family_id', 'l.token_hash', 'l.expires_at', 'f.connector_id', 'f.user_id', 'f.scope', 'f.auth_time', 'f.revoked_at',
    (eb) => eb.exists(eb.selectFrom('oauth_refresh_links as n').select(sql.lit(1).as('one')).whereRef('n.spends', '=', 'l.id')).as('spent')])
  .where('l.id', '=', p.id));
// PostgreSQL: the refreshes of one event-loop turn in one statement — one round trip and one
// commit for all of them, instead of a read and an append each (db/group-commit.ts says why on
// SQLite; here each commit also waits for its WAL flush). For each presented token the next link
// is appended only if the token is this client's unexpired link of a family not revoked; each
// presented link that exists comes back with its family and whether that request's own next link
// was appended. Of two requests presenting one link (in this statement or another) one appends,
// the other's append does nothing (ON CONFLICT on the unique key of what a link spends). The hash
// is compared by PostgreSQL, not in constant time: what its timing could tell is how much of a
// SHA-256 of an unguessable token matched, which no one can steer.
const spendLinks = prepared<{
  ids: string[]; hashes: string[]; clientIds: string[]; nows: number[]; nextIds: string[]; nextHashes: string[]; nextExpiries: number[];
}>()((db, p) => db
  .with('asked(id, hash, client_id, now, next_id, next_hash, next_expires_at)', () => sql<{
    id: string; hash: string; client_id: string; now: number; next_id: string; next_hash: string; next_expires_at: number;
  }>`(select * from unnest(${p.ids}::text[], ${p.hashes}::text[], ${p.clientIds}::text[], ${p.nows}::bigint[], ${p.nextIds}::text[], ${p.nextHashes}::text[], ${p.nextExpiries}::bigint[]))`)
  .with('presented', (q) => q.selectFrom('asked as a')
    .innerJoin('oauth_refresh_links as l', 'l.id', 'a.id')
    .innerJoin('oauth_families as f', 'f.id', 'l.family_id')
    .select(['a.id', 'a.hash', 'a.client_id', 'a.now', 'a.next_id', 'a.next_hash', 'a.next_expires_at',
      'l.family_id', 'l.token_hash', 'l.expires_at', 'f.connector_id', 'f.user_id', 'f.scope', 'f.auth_time', 'f.revoked_at']))
  .with('appended', (q) => q.insertInto('oauth_refresh_links')
    .columns(['id', 'family_id', 'spends', 'token_hash', 'created_at', 'expires_at'])
    .expression((eb) => eb.selectFrom('presented')
      .select(['next_id as id', 'family_id', 'id as spends', 'next_hash as token_hash', 'now as created_at', 'next_expires_at as expires_at'])
      .whereRef('token_hash', '=', 'hash').whereRef('connector_id', '=', 'client_id').where('revoked_at', 'is', null).whereRef('expires_at', '>', 'now'))
    .onConflict((oc) => oc.doNothing())
    .returning('id'))
  .selectFrom('presented')
  .select(['next_id', 'family_id', 'expires_at', 'connector_id', 'user_id', 'scope', 'auth_time', 'revoked_at',
    (eb) => eb.exists(eb.selectFrom('appended').select('appended.id').whereRef('appended.id', '=', 'presented.next_id')).as('appended')]));
const revokedJti = prepared<{ jti: string }>()((db, p) => db.selectFrom('oauth_revoked_access_tokens').select('jti').where('jti', '=', p.jti));

export const findClient = (db: Db, id: string): Promise<ConnectorsTable | undefined> =>
  db.selectFrom('connectors').selectAll().where('id', '=', id).executeTakeFirst();

export async function insertCode(db: Db, row: OAuthCodesTable): Promise<void> {
  await db.insertInto('oauth_codes').values(row).execute();
}

export const findCode = (db: Db, codeHash: string): Promise<OAuthCodesTable | undefined> =>
  db.selectFrom('oauth_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();

/** Compare-and-set: true for exactly one of any number of concurrent redemptions. */
export async function redeemCode(db: Db, codeHash: string, now: number, familyId: string): Promise<boolean> {
  const res = await db.updateTable('oauth_codes').set({ redeemed_at: now, family_id: familyId })
    .where('code_hash', '=', codeHash).where('redeemed_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function insertFamily(db: Db, row: OAuthFamiliesTable): Promise<void> {
  await familyInsert.run(db, row);
}

export const findFamily = (db: Db, id: string): Promise<OAuthFamiliesTable | undefined> => familyById.first(db, { id });

export async function revokeFamily(db: Db, id: string, now: number, reason: string): Promise<void> {
  await db.updateTable('oauth_families').set({ revoked_at: now, revoked_reason: reason }).where('id', '=', id).where('revoked_at', 'is', null).execute();
}

export async function revokeFamiliesOf(db: Db, userId: string, connectorId: string, now: number, reason: string): Promise<void> {
  await db.updateTable('oauth_families').set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId).where('connector_id', '=', connectorId).where('revoked_at', 'is', null).execute();
}

export interface RefreshTokenState {
  linkId: string;
  familyId: string;
  expiresAt: number;
  /** A later link spends this one: this token was used. */
  spent: boolean;
  connector_id: string;
  user_id: string | null;
  scope: string;
  auth_time: number | null;
  revoked_at: number | null;
}

type LinkRow = Pick<OAuthRefreshLinksTable, 'family_id' | 'expires_at'> & Pick<OAuthFamiliesTable, 'connector_id' | 'user_id' | 'scope' | 'auth_time' | 'revoked_at'>;

/** A presented link's state, from its row joined with its family's (a read, or a spend's answer). */
const stateOf = (linkId: string, row: LinkRow, spent: boolean): RefreshTokenState => ({
  linkId, familyId: row.family_id, expiresAt: row.expires_at, spent,
  connector_id: row.connector_id, user_id: row.user_id, scope: row.scope, auth_time: row.auth_time, revoked_at: row.revoked_at,
});

/** The refresh token's state, or undefined when it is not one this server issued. */
export async function findRefreshToken(db: Db, token: string): Promise<RefreshTokenState | undefined> {
  const id = refreshLinkId(token);
  if (!id) return undefined;
  const link = await linkById.first(db, { id });
  if (!link || !safeEqual(link.token_hash, sha256(token))) return undefined;
  return stateOf(id, link, Boolean(link.spent));
}

interface SpendAsk { token: string; linkId: string; next: MintedLink; clientId: string; now: number }

// SQLite: the refreshes of one turn read their links and append the next ones in one
// transaction. Read and appended apart, each refresh opened a read transaction of its own (the
// WAL index's read mark and its locks) before its append joined the turn's group; together, the
// group shares one (docs/performance.md, "The refresh grant's read in the group's transaction").
// The transaction begins IMMEDIATE (db/sqlite-turns.ts), so no other process writes between a
// read and its append; the unique key on what a link spends stays the compare-and-set.
async function spendOnSqlite(db: Db, asks: SpendAsk[]): Promise<(RefreshTokenState | undefined)[]> {
  const spendEach = async (run: Db): Promise<(RefreshTokenState | undefined)[]> => {
    const out: (RefreshTokenState | undefined)[] = [];
    for (const ask of asks) {
      const link = await linkById.first(run, { id: ask.linkId });
      if (!link || link.spent || link.connector_id !== ask.clientId || link.revoked_at !== null || link.expires_at <= ask.now || !safeEqual(link.token_hash, sha256(ask.token))) {
        out.push(undefined);
        continue;
      }
      try {
        await linkInsert.run(run, { ...ask.next, family_id: link.family_id, spends: ask.linkId });
      } catch (err) {
        // A unique violation is undone alone (the statement, not the transaction): that token
        // was spent by another process or request first. Anything else fails the group.
        if (!isUniqueViolation(err)) throw err;
        out.push(undefined);
        continue;
      }
      out.push(stateOf(ask.linkId, link, false));
    }
    return out;
  };
  // Alone in its turn, or inside a caller's transaction: its two statements as they come.
  return asks.length === 1 || db.isTransaction ? spendEach(db) : db.transaction().execute(spendEach);
}

const spendTogether = perTurn<SpendAsk, RefreshTokenState | undefined>(async (db, asks) => {
  if (db.getExecutor().adapter instanceof SqliteAdapter) return spendOnSqlite(db, asks);
  const rows = await spendLinks.all(db, {
    ids: asks.map((a) => a.linkId), hashes: asks.map((a) => sha256(a.token)), clientIds: asks.map((a) => a.clientId), nows: asks.map((a) => a.now),
    nextIds: asks.map((a) => a.next.id), nextHashes: asks.map((a) => a.next.token_hash), nextExpiries: asks.map((a) => a.next.expires_at),
  });
  const byNext = new Map(rows.map((r) => [r.next_id, r]));
  return asks.map((a) => {
    const row = byNext.get(a.next.id);
    return row?.appended ? stateOf(a.linkId, row, false) : undefined;
  });
});

/**
 * Spends the refresh token and appends `next`, the link that spends it, with the other refreshes
 * of this turn (PostgreSQL: in one statement; SQLite: in one transaction), when nothing about the
 * token refuses it (this client's, current, unexpired, family not revoked). Undefined when it did
 * not append, for whatever reason: then findRefreshToken() and the grant's checks say why (a
 * spent token is a reuse). The checks here only gate the shortcut; they decide no answer. A token
 * whose hash is not its link's appends nothing.
 */
export function spendRefreshToken(db: Db, token: string, linkId: string, next: MintedLink, clientId: string, now: number): Promise<RefreshTokenState | undefined> {
  return spendTogether(db, { token, linkId, next, clientId, now });
}

/**
 * Appends a link to a family's chain, spending `spends` (null for a family's first). False when
 * that link is already spent: another use of its token got there first — the compare-and-set
 * that makes each refresh token single-use.
 */
export async function appendRefreshToken(db: Db, link: MintedLink, familyId: string, spends: string | null): Promise<boolean> {
  try {
    // Committed with the other appends of this turn (db/group-commit.ts), before the answer.
    await runGrouped(db, linkInsert, { ...link, family_id: familyId, spends });
    return true;
  } catch (err) {
    if (isUniqueViolation(err)) return false;
    throw err;
  }
}

/** The entry is dropped by the pruner once the token has expired (db/retention.ts). */
export async function revokeAccessToken(db: Db, jti: string, expiresAt: number): Promise<void> {
  await db.insertInto('oauth_revoked_access_tokens').values({ jti, expires_at: expiresAt })
    .onConflict((oc) => oc.column('jti').doNothing()).execute();
}

/** The ids of revoked access tokens that have not expired yet, oldest first. */
export async function listRevokedAccessTokens(db: Db, now: number): Promise<string[]> {
  return (await db.selectFrom('oauth_revoked_access_tokens').select('jti').where('expires_at', '>', now).orderBy('expires_at').execute()).map((r) => r.jti);
}

export async function isAccessTokenRevoked(db: Db, jti: string): Promise<boolean> {
  return (await revokedJti.first(db, { jti })) !== undefined;
}

export const findConsent = (db: Db, userId: string, connectorId: string) =>
  db.selectFrom('oauth_consents').selectAll().where('user_id', '=', userId).where('connector_id', '=', connectorId).executeTakeFirst();

export async function saveConsent(db: Db, userId: string, connectorId: string, scope: string, now: number): Promise<void> {
  await db.insertInto('oauth_consents').values({ user_id: userId, connector_id: connectorId, scope, created_at: now, updated_at: now })
    .onConflict((oc) => oc.columns(['user_id', 'connector_id']).doUpdateSet({ scope, updated_at: now })).execute();
}

export const listConsents = (db: Db, userId: string) =>
  db.selectFrom('oauth_consents').innerJoin('connectors', 'connectors.id', 'oauth_consents.connector_id')
    .innerJoin('organizations', 'organizations.id', 'connectors.org_id')
    .select(['oauth_consents.connector_id', 'oauth_consents.scope', 'oauth_consents.updated_at', 'connectors.name as connector_name', 'organizations.name as org_name'])
    .where('oauth_consents.user_id', '=', userId).orderBy('connectors.name').execute();

export async function deleteConsent(db: Db, userId: string, connectorId: string): Promise<boolean> {
  const res = await db.deleteFrom('oauth_consents').where('user_id', '=', userId).where('connector_id', '=', connectorId).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** When the session's log-in happened, and whether it passed a second factor. */
export async function sessionLogin(db: Db, sessionHash: string): Promise<{ created_at: number; second_factor: number } | undefined> {
  return db.selectFrom('sessions').select(['created_at', 'second_factor']).where('id_hash', '=', sessionHash).executeTakeFirst();
}

export const verifiedPhone = (db: Db, userId: string) =>
  db.selectFrom('phone_numbers').select('e164').where('user_id', '=', userId).where('verified_at', 'is not', null).orderBy('verified_at').executeTakeFirst();

export async function orgNames(db: Db, ids: string[]): Promise<Map<string, string>> {
  if (!ids.length) return new Map();
  const rows = await db.selectFrom('organizations').select(['id', 'name']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}

/** Every grant family of a connector, e.g. when its client type changes under its refresh tokens. */
export async function revokeFamiliesOfConnector(db: Db, connectorId: string, now: number, reason: string): Promise<void> {
  await db.updateTable('oauth_families').set({ revoked_at: now, revoked_reason: reason })
    .where('connector_id', '=', connectorId).where('revoked_at', 'is', null).execute();
}
