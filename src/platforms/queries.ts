// Platforms' and platform members' queries. Each takes the executor, so it runs inside or
// outside a transaction.
import { sql, type Kysely } from 'kysely';
import type { Database, JoinedVia, MemberType, PlatformsTable } from '../db/schema.js';

type Db = Kysely<Database>;

export type PlatformRow = Omit<PlatformsTable, 'logo_data'> & { has_logo: number };

const columns = ['id', 'org_id', 'name', 'display_name', 'connector_id', 'primary_color', 'support_contact', 'logo_url', 'logo_type', 'webhook_url', 'created_at', 'updated_at'] as const;

function withLogoFlag(db: Db) {
  return db.selectFrom('platforms').select(columns).select(sql<number>`case when logo_data is null then 0 else 1 end`.as('has_logo'));
}

export const platformByName = (db: Db, name: string): Promise<PlatformRow | undefined> => withLogoFlag(db).where('name', '=', name).executeTakeFirst();
export const platformById = (db: Db, id: string): Promise<PlatformRow | undefined> => withLogoFlag(db).where('id', '=', id).executeTakeFirst();
export const platformByApp = (db: Db, connectorId: string): Promise<PlatformRow | undefined> => withLogoFlag(db).where('connector_id', '=', connectorId).executeTakeFirst();
export const platformsOfOrg = (db: Db, orgId: string): Promise<PlatformRow[]> => withLogoFlag(db).where('org_id', '=', orgId).orderBy('name').execute();

export const platformLogo = (db: Db, name: string) =>
  db.selectFrom('platforms').select(['logo_type', 'logo_data', 'updated_at']).where('name', '=', name).executeTakeFirst();

/** Adds a member; false when it already was one (joining twice changes nothing). */
export async function addMember(db: Db, row: { platform_id: string; member_type: MemberType; member_id: string; joined_via: JoinedVia; joined_by: string | null; created_at: number }): Promise<boolean> {
  const res = await db.insertInto('platform_members').values(row)
    .onConflict((oc) => oc.columns(['platform_id', 'member_type', 'member_id']).doNothing()).executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function removeMember(db: Db, platformId: string, type: MemberType, id: string): Promise<boolean> {
  const res = await db.deleteFrom('platform_members').where('platform_id', '=', platformId).where('member_type', '=', type).where('member_id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) === 1;
}

export const findMember = (db: Db, platformId: string, type: MemberType, id: string) =>
  db.selectFrom('platform_members').selectAll().where('platform_id', '=', platformId).where('member_type', '=', type).where('member_id', '=', id).executeTakeFirst();

export interface MemberListing {
  member_type: MemberType;
  member_id: string;
  name: string;
  /** A person's e-mail; null for an organisation. */
  email: string | null;
  joined_via: JoinedVia;
  created_at: number;
}

/** `%`, `_` and `\` stand for themselves in a search. */
const likePattern = (q: string): string => `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * A platform's members, persons and organisations together, newest first, optionally of one
 * type and matching a search on name or e-mail; with the total for pagination.
 */
export async function listMembers(db: Db, platformId: string, opts: { q?: string | undefined; type?: MemberType | undefined; limit: number; offset: number }): Promise<{ rows: MemberListing[]; total: number }> {
  const persons = db.selectFrom('platform_members as pm').innerJoin('users as u', (j) => j.onRef('u.id', '=', 'pm.member_id').on('pm.member_type', '=', 'Person'))
    .select(['pm.member_type', 'pm.member_id', 'u.name as name', sql<string | null>`u.email`.as('email'), 'pm.joined_via', 'pm.created_at'])
    .where('pm.platform_id', '=', platformId);
  const orgs = db.selectFrom('platform_members as pm').innerJoin('organizations as o', (j) => j.onRef('o.id', '=', 'pm.member_id').on('pm.member_type', '=', 'Organization'))
    .select(['pm.member_type', 'pm.member_id', 'o.name as name', sql<string | null>`null`.as('email'), 'pm.joined_via', 'pm.created_at'])
    .where('pm.platform_id', '=', platformId);
  const both = opts.type === 'Person' ? persons : opts.type === 'Organization' ? orgs : persons.unionAll(orgs);
  const pattern = opts.q ? likePattern(opts.q) : undefined;
  const filtered = db.selectFrom(both.as('m'))
    .where(pattern === undefined ? sql<boolean>`1 = 1` : sql<boolean>`(lower(m.name) like ${pattern} escape '\\' or lower(coalesce(m.email, '')) like ${pattern} escape '\\')`);
  const [rows, count] = await Promise.all([
    filtered.selectAll().orderBy('m.created_at', 'desc').orderBy('m.member_id').limit(opts.limit).offset(opts.offset).execute(),
    filtered.select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows: rows as MemberListing[], total: Number(count.n) };
}

/** The platforms a person belongs to, directly or through an organisation they are in. */
export async function membershipsOfPerson(db: Db, userId: string) {
  const direct = db.selectFrom('platform_members as pm').innerJoin('platforms as p', 'p.id', 'pm.platform_id')
    .select(['p.id as platform_id', 'p.name', 'p.display_name', 'pm.member_type', 'pm.member_id', sql<string | null>`null`.as('org_name'), 'pm.joined_via', 'pm.created_at'])
    .where('pm.member_type', '=', 'Person').where('pm.member_id', '=', userId);
  const viaOrgs = db.selectFrom('platform_members as pm').innerJoin('platforms as p', 'p.id', 'pm.platform_id')
    .innerJoin('org_members as om', (j) => j.onRef('om.org_id', '=', 'pm.member_id').on('pm.member_type', '=', 'Organization'))
    .innerJoin('organizations as o', 'o.id', 'om.org_id')
    .select(['p.id as platform_id', 'p.name', 'p.display_name', 'pm.member_type', 'pm.member_id', 'o.name as org_name', 'pm.joined_via', 'pm.created_at'])
    .where('om.user_id', '=', userId);
  return db.selectFrom(direct.unionAll(viaOrgs).as('m')).selectAll().orderBy('m.display_name').orderBy('m.member_type', 'desc').execute();
}
