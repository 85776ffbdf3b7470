// Seeds a fresh database with realistic volume for the benchmark. The schema comes from Tessera's
// own migrations (so it always matches src/db/migrations, including tables added later); the rows
// go in directly, in bulk, because creating 10,000 connectors through the portal would take longer
// than the benchmark. Credentials are hashed with src/lib/hash.ts exactly as the services do, so
// the plaintext connector secrets and refresh tokens returned here work against the real API.
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { openDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { sha256 } from '../src/lib/hash.js';
import { newId, newSecret } from '../src/lib/ids.js';
import { PERMISSION_NAMES } from '../src/connectors/permissions.js';
import { REFRESH_TOKEN_PREFIX, REFRESH_TOKEN_TTL_MS } from '../src/grants/grants.service.js';
import { SECRET_PREFIX } from '../src/connectors/connectors.service.js';

export interface SeedSize {
  orgs: number;
  connectors: number;
  groups: number;
  membersPerGroup: number;
  /** People with a verified phone number: their memberships show as provisioned. */
  users: number;
  /** Share of grants whose refresh token is past 90% of its life, so the first exchange rotates it. */
  rotationDueFraction: number;
}

export const DEFAULT_SIZE: SeedSize = {
  orgs: 100, connectors: 10_000, groups: 5_000, membersPerGroup: 20, users: 2_000, rotationDueFraction: 0.1,
};

export interface SeededGrant {
  grantId: string;
  connectorId: string;
  connectorSecret: string;
  groupId: string;
  /** Mutable: the client adopts a rotated refresh token, as a real one would. */
  refreshToken: string;
  rotationDue: boolean;
}

export interface Seeded {
  grants: SeededGrant[];
  ownerId: string;
  counts: Record<string, number>;
  seedMs: number;
}

/** Inserts rows into one table; the two databases get their own fast path. */
export interface Sink {
  insert(table: string, columns: string[], rows: unknown[][]): Promise<void>;
  close(): Promise<void>;
}

function sqliteSink(file: string): Sink {
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  return {
    async insert(table, columns, rows) {
      const stmt = db.prepare(`insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})`);
      // One transaction per table: better-sqlite3 inserts a few hundred thousand rows a second this way.
      db.transaction((all: unknown[][]) => {
        for (const row of all) stmt.run(...row);
      })(rows);
    },
    async close() {
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    },
  };
}

async function postgresSink(url: string, schema: string): Promise<Sink> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path="${schema}"` });
  await client.connect();
  return {
    async insert(table, columns, rows) {
      // Multi-row INSERTs of 1,000 rows stay well under PostgreSQL's 65,535 parameters.
      const batch = 1000;
      await client.query('begin');
      for (let i = 0; i < rows.length; i += batch) {
        const chunk = rows.slice(i, i + batch);
        const values: unknown[] = [];
        const tuples = chunk.map((row) => `(${row.map((v) => { values.push(v); return `$${values.length}`; }).join(', ')})`);
        await client.query(`insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${tuples.join(', ')}`, values);
      }
      await client.query('commit');
    },
    async close() {
      await client.query('analyze');
      await client.end();
    },
  };
}

export function openSink(target: { databaseUrl: string; databaseSchema?: string }): Promise<Sink> {
  return target.databaseUrl.startsWith('sqlite:')
    ? Promise.resolve(sqliteSink(target.databaseUrl.slice('sqlite:'.length)))
    : postgresSink(target.databaseUrl, target.databaseSchema ?? 'public');
}

/** Grants whose refresh token was issued at or after `since`: the rotations the token service made. */
export async function countRotations(target: { databaseUrl: string; databaseSchema?: string }, since: number): Promise<number> {
  const query = 'select count(*) as n from grants where refresh_token_issued_at >= ';
  if (target.databaseUrl.startsWith('sqlite:')) {
    const db = new SQLite(target.databaseUrl.slice('sqlite:'.length), { readonly: true });
    try {
      return Number((db.prepare(`${query}?`).get(since) as { n: number }).n);
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: target.databaseUrl, options: `-c search_path="${target.databaseSchema ?? 'public'}"` });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(`${query}$1`, [since])).rows[0]!.n);
  } finally {
    await client.end();
  }
}

const phone = (n: number): string => `+1555${String(n).padStart(7, '0')}`;

export async function seed(target: { databaseUrl: string; databaseSchema?: string }, size: SeedSize = DEFAULT_SIZE): Promise<Seeded> {
  const started = performance.now();
  // Tessera's migrations create the schema, exactly as `tessera migrate` would.
  const db = await openDatabase({ databaseUrl: target.databaseUrl, databaseSchema: target.databaseSchema });
  try {
    await migrateToLatest(db);
  } finally {
    await db.close();
  }
  const sink = await openSink(target);

  const now = Date.now();
  const day = 24 * 3600 * 1000;
  // Not a usable password: nobody logs in during the benchmark, and scrypt would dominate seeding.
  const passwordHash = 'scrypt$32768$8$1$YmVuY2g$YmVuY2gtbm90LWEtcmVhbC1wYXNzd29yZA';
  try {
    const ownerId = newId();
    const userIds = Array.from({ length: size.users }, () => newId());
    await sink.insert('users', ['id', 'email', 'name', 'password_hash', 'created_at'], [
      [ownerId, 'owner@bench.test', 'Bench Owner', passwordHash, now],
      ...userIds.map((id, i) => [id, `user${i}@bench.test`, `User ${i}`, passwordHash, now]),
    ]);
    await sink.insert('phone_numbers', ['id', 'user_id', 'e164', 'verified_at', 'pin_attempts', 'pin_sends', 'created_at'],
      userIds.map((id, i) => [newId(), id, phone(i), now, 0, 0, now]));

    const orgIds = Array.from({ length: size.orgs }, () => newId());
    await sink.insert('organizations', ['id', 'name', 'created_by', 'created_at'], orgIds.map((id, i) => [id, `Org ${i}`, ownerId, now]));
    await sink.insert('org_members', ['org_id', 'user_id', 'role', 'created_at'], orgIds.map((id) => [id, ownerId, 'owner', now]));

    const groupIds = Array.from({ length: size.groups }, () => newId());
    const groupOrg = (g: number): string => orgIds[g % orgIds.length]!;
    await sink.insert('groups', ['id', 'org_id', 'parent_id', 'name', 'welcome_message', 'group_type', 'created_at'],
      groupIds.map((id, g) => [id, groupOrg(g), null, `Group ${g}`, '', 'Group', now]));

    // Phones are drawn from a pool shared across groups (people belong to several groups), and
    // the first `users` numbers belong to verified accounts, so the member query's joins do work.
    const members: unknown[][] = [];
    const pool = Math.max(size.users * 25, size.membersPerGroup);
    for (let g = 0; g < groupIds.length; g++) {
      for (let k = 0; k < size.membersPerGroup; k++) {
        members.push([newId(), groupIds[g], phone((g * size.membersPerGroup + k) % pool), k === 0 ? 'admin' : 'member', now + k]);
      }
    }
    await sink.insert('group_members', ['id', 'group_id', 'phone', 'role', 'created_at'], members);

    const permissions = JSON.stringify(PERMISSION_NAMES);
    const grants: SeededGrant[] = [];
    const connectorRows: unknown[][] = [];
    const grantRows: unknown[][] = [];
    for (let i = 0; i < size.connectors; i++) {
      const connectorId = newId();
      const connectorSecret = newSecret(SECRET_PREFIX);
      connectorRows.push([connectorId, orgIds[i % orgIds.length], ownerId, `Connector ${i}`, '', permissions, sha256(connectorSecret), 1, now, now]);
      // One grant per connector, two connectors per group (with the default size).
      const grantId = newId();
      const groupId = groupIds[i % groupIds.length]!;
      const refreshToken = newSecret(REFRESH_TOKEN_PREFIX);
      const rotationDue = i < size.connectors * size.rotationDueFraction;
      const issuedAt = rotationDue ? now - 340 * day : now - 10 * day;
      grantRows.push([grantId, connectorId, groupId, ownerId, sha256(refreshToken), issuedAt, issuedAt + REFRESH_TOKEN_TTL_MS, 1, now]);
      grants.push({ grantId, connectorId, connectorSecret, groupId, refreshToken, rotationDue });
    }
    await sink.insert('connectors', ['id', 'org_id', 'created_by', 'name', 'description', 'permissions', 'secret_hash', 'secret_generation', 'created_at', 'updated_at'], connectorRows);
    await sink.insert('grants', ['id', 'connector_id', 'group_id', 'granted_by', 'refresh_token_hash', 'refresh_token_issued_at', 'refresh_token_expires_at', 'generation', 'created_at'], grantRows);

    return {
      grants,
      ownerId,
      counts: {
        users: userIds.length + 1, organizations: orgIds.length, groups: groupIds.length,
        group_members: members.length, connectors: connectorRows.length, grants: grantRows.length,
      },
      seedMs: Math.round(performance.now() - started),
    };
  } finally {
    await sink.close();
  }
}
