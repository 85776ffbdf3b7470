// Seeds a fresh database with realistic volume for the benchmark. The schema comes from Tessera's
// own migrations (so it always matches src/db/migrations, including tables added later); the rows
// go in directly, in bulk, because creating 10,000 connectors through the portal would take longer
// than the benchmark. Credentials are hashed with src/lib/hash.ts exactly as the services do, so
// the plaintext connector secrets and refresh tokens returned here work against the real API.
import { existsSync, statSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { openDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { sha256 } from '../src/lib/hash.js';
import { newId, newSecret, uuidv7 } from '../src/lib/ids.js';
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
  /**
   * The grants the scenarios address, spread evenly over all of them. The large seed keeps the
   * small seed's number, so the two passes differ in how much data lies around the requests (index
   * depth, file size, pages to find), not in how many distinct clients and groups the load cycles
   * through: that second question is one of cache size, answered in docs/performance.md.
   */
  activeGrants: number;
  /** The groups the active grants are for (two grants a group at both sizes), spread evenly over all groups. */
  activeGroups: number;
  /**
   * Share of the active grants whose refresh token is past 90% of its life, so the first exchange
   * rotates it: that many for each measured Tessera (one process, then two workers), so both
   * measured runs of scenario 1 make the same rotations.
   */
  rotationDueFraction: number;
  /** OAuth refresh-token families besides the scenarios' own (people who signed in to apps before). */
  oauthFamilies: number;
  /** Kandy users provisioned across `kandyDomains` projects. */
  kandyUsers: number;
  kandyDomains: number;
}

export const DEFAULT_SIZE: SeedSize = {
  orgs: 100, connectors: 10_000, groups: 5_000, membersPerGroup: 20, users: 2_000, activeGrants: 10_000, activeGroups: 5_000, rotationDueFraction: 0.1,
  oauthFamilies: 0, kandyUsers: 0, kandyDomains: 0,
};

/** `npm run bench -- --large`: production sizes (issue 17). */
export const LARGE_SIZE: SeedSize = {
  orgs: 100_000, connectors: 100_000, groups: 250_000, membersPerGroup: 20, users: 1_000_000, activeGrants: 10_000, activeGroups: 5_000, rotationDueFraction: 0.1,
  oauthFamilies: 1_000_000, kandyUsers: 1_000_000, kandyDomains: 1_000,
};

export interface SeededGrant {
  grantId: string;
  connectorId: string;
  connectorSecret: string;
  groupId: string;
  /** Mutable: the client adopts a rotated refresh token, as a real one would. */
  refreshToken: string;
  /** The measured Tessera (`MEASURED_ROUNDS`) whose run finds this refresh token due for rotation; undefined if none does. */
  dueInRound: number | undefined;
}

/** The Tessera servers measured in turn: 0 one process, 1 two workers (bench/run.ts). */
export const MEASURED_ROUNDS = 2;

export interface Seeded {
  /** The active grants (`SeedSize.activeGrants`), with their plaintext credentials. */
  grants: SeededGrant[];
  ownerId: string;
  counts: Record<string, number>;
  seedMs: number;
}

/** Inserts rows into one table, streamed (millions need not be in memory at once); answers how many. */
export interface Sink {
  insert(table: string, columns: string[], rows: Iterable<unknown[]>): Promise<number>;
  close(): Promise<void>;
}

function sqliteSink(file: string): Sink {
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  // Random UUID keys land all over each index: a page cache large enough to hold them (1 GB)
  // turns millions of inserts from disk-bound to memory-bound.
  db.pragma('cache_size = -1000000');
  return {
    async insert(table, columns, rows) {
      const stmt = db.prepare(`insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})`);
      // One transaction per table: better-sqlite3 inserts a few hundred thousand rows a second this way.
      let n = 0;
      db.transaction(() => {
        for (const row of rows) {
          stmt.run(...row);
          n++;
        }
      })();
      return n;
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
      // Multi-row INSERTs as large as PostgreSQL's 65,535 parameters allow.
      const batch = Math.floor(65_000 / columns.length);
      let n = 0;
      let chunk: unknown[][] = [];
      const flush = async () => {
        if (!chunk.length) return;
        const values: unknown[] = [];
        const tuples = chunk.map((row) => `(${row.map((v) => { values.push(v); return `$${values.length}`; }).join(', ')})`);
        await client.query(`insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${tuples.join(', ')}`, values);
        n += chunk.length;
        chunk = [];
      };
      await client.query('begin');
      for (const row of rows) {
        chunk.push(row);
        if (chunk.length === batch) await flush();
      }
      await flush();
      await client.query('commit');
      return n;
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

/** The database's size on disk in MB: the SQLite file with its WAL, or the PostgreSQL schema's tables with their indexes. */
export async function databaseSize(target: { databaseUrl: string; databaseSchema?: string }): Promise<number> {
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
  if (target.databaseUrl.startsWith('sqlite:')) {
    const file = target.databaseUrl.slice('sqlite:'.length);
    return mb([file, `${file}-wal`].reduce((n, f) => n + (existsSync(f) ? statSync(f).size : 0), 0));
  }
  const client = new pg.Client({ connectionString: target.databaseUrl });
  await client.connect();
  try {
    const r = await client.query<{ bytes: string }>(`select coalesce(sum(pg_total_relation_size(c.oid)), 0) as bytes from pg_class c
      join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind = 'r'`, [target.databaseSchema ?? 'public']);
    return mb(Number(r.rows[0]!.bytes));
  } finally {
    await client.end();
  }
}

/** Grants whose refresh token was issued at or after `since`: the rotations the token service made. */
/** How many of `grantIds` had their refresh token rotated at or after `since` (ms). */
export async function countRotations(target: { databaseUrl: string; databaseSchema?: string }, since: number, grantIds: string[]): Promise<number> {
  if (!grantIds.length) return 0;
  const query = (param: (i: number) => string) =>
    `select count(*) as n from grants where refresh_token_issued_at >= ${param(0)} and id in (${grantIds.map((_, i) => param(i + 1)).join(', ')})`;
  if (target.databaseUrl.startsWith('sqlite:')) {
    const db = new SQLite(target.databaseUrl.slice('sqlite:'.length), { readonly: true });
    try {
      return Number((db.prepare(query(() => '?')).get(since, ...grantIds) as { n: number }).n);
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: target.databaseUrl, options: `-c search_path="${target.databaseSchema ?? 'public'}"` });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(query((i) => `$${i + 1}`), [since, ...grantIds])).rows[0]!.n);
  } finally {
    await client.end();
  }
}

const phone = (n: number): string => `+1555${String(n).padStart(7, '0')}`;

/** Rows made as they are inserted: `count` of them, row i from `make(i)`. */
function* rows(count: number, make: (i: number) => unknown[]): Generator<unknown[]> {
  for (let i = 0; i < count; i++) yield make(i);
}

export async function seed(target: { databaseUrl: string; databaseSchema?: string }, size: SeedSize = DEFAULT_SIZE, progress: (msg: string) => void = () => undefined): Promise<Seeded> {
  const started = performance.now();
  // Tessera's migrations create the schema, exactly as `tessera migrate` would.
  const db = await openDatabase({ databaseUrl: target.databaseUrl, databaseSchema: target.databaseSchema });
  try {
    await migrateToLatest(db);
  } finally {
    await db.close();
  }
  const sink = await openSink(target);
  const counts: Record<string, number> = {};
  const insert = async (table: string, columns: string[], made: Iterable<unknown[]>): Promise<void> => {
    const t = performance.now();
    const n = await sink.insert(table, columns, made);
    if (n === 0) return;
    counts[table] = (counts[table] ?? 0) + n;
    progress(`${table}: ${counts[table].toLocaleString('en')} rows (${Math.round(performance.now() - t)} ms)`);
  };

  const now = Date.now();
  const day = 24 * 3600 * 1000;
  // Not a usable password: nobody logs in during the benchmark, and scrypt would dominate seeding.
  const passwordHash = 'scrypt$32768$8$1$YmVuY2g$YmVuY2gtbm90LWEtcmVhbC1wYXNzd29yZA';
  try {
    const ownerId = newId();
    const userIds = Array.from({ length: size.users }, () => newId());
    await insert('users', ['id', 'email', 'name', 'password_hash', 'created_at'], [[ownerId, 'owner@bench.test', 'Bench Owner', passwordHash, now]]);
    await insert('users', ['id', 'email', 'name', 'password_hash', 'created_at'], rows(size.users, (i) => [userIds[i], `user${i}@bench.test`, `User ${i}`, passwordHash, now]));
    await insert('phone_numbers', ['id', 'user_id', 'e164', 'verified_at', 'pin_attempts', 'pin_sends', 'created_at'],
      rows(size.users, (i) => [newId(), userIds[i], phone(i), now, 0, 0, now]));

    const orgIds = Array.from({ length: size.orgs }, () => newId());
    await insert('organizations', ['id', 'name', 'created_by', 'created_at'], rows(size.orgs, (i) => [orgIds[i], `Org ${i}`, ownerId, now]));
    // The owner owns every organisation; each person is a member of one.
    await insert('org_members', ['org_id', 'user_id', 'role', 'created_at'], rows(size.orgs, (i) => [orgIds[i], ownerId, 'owner', now]));
    await insert('org_members', ['org_id', 'user_id', 'role', 'created_at'], rows(size.users, (i) => [orgIds[i % size.orgs], userIds[i], 'member', now]));

    const groupIds = Array.from({ length: size.groups }, () => newId());
    await insert('groups', ['id', 'org_id', 'parent_id', 'name', 'welcome_message', 'group_type', 'created_at'],
      rows(size.groups, (g) => [groupIds[g], orgIds[g % orgIds.length], null, `Group ${g}`, '', 'Group', now]));

    // Phones are drawn from a pool shared across groups (people belong to several groups), and
    // the first `users` numbers belong to verified accounts, so the member query's joins do work.
    const pool = Math.max(size.users * 25, size.membersPerGroup);
    await insert('group_members', ['id', 'group_id', 'phone', 'role', 'created_at'], rows(size.groups * size.membersPerGroup, (n) => {
      const g = Math.floor(n / size.membersPerGroup);
      const k = n % size.membersPerGroup;
      return [newId(), groupIds[g], phone(n % pool), k === 0 ? 'admin' : 'member', now + k];
    }));

    const permissions = JSON.stringify(PERMISSION_NAMES);
    const grants: SeededGrant[] = [];
    const connectorRows: unknown[][] = [];
    const grantRows: unknown[][] = [];
    // Every `stride`-th grant is active, so the active rows lie all over each table and index.
    const stride = Math.max(1, Math.floor(size.connectors / size.activeGrants));
    const groupStride = Math.max(1, Math.floor(size.groups / size.activeGroups));
    const dueCount = Math.round(size.activeGrants * size.rotationDueFraction);
    for (let i = 0; i < size.connectors; i++) {
      const connectorId = newId();
      const connectorSecret = newSecret(SECRET_PREFIX);
      connectorRows.push([connectorId, orgIds[i % orgIds.length], ownerId, `Connector ${i}`, '', permissions, sha256(connectorSecret), 1, now, now]);
      // One grant per connector, two connectors per group (with the default size).
      const grantId = newId();
      const active = i % stride === 0 && grants.length < size.activeGrants;
      const groupId = groupIds[active ? (grants.length % size.activeGroups) * groupStride : i % groupIds.length]!;
      const refreshToken = newSecret(REFRESH_TOKEN_PREFIX);
      const dueInRound = active && grants.length < dueCount * MEASURED_ROUNDS ? Math.floor(grants.length / dueCount) : undefined;
      const issuedAt = dueInRound !== undefined ? now - 340 * day : now - 10 * day;
      grantRows.push([grantId, connectorId, groupId, ownerId, sha256(refreshToken), issuedAt, issuedAt + REFRESH_TOKEN_TTL_MS, 1, now]);
      if (active) grants.push({ grantId, connectorId, connectorSecret, groupId, refreshToken, dueInRound });
    }
    await insert('connectors', ['id', 'org_id', 'created_by', 'name', 'description', 'permissions', 'secret_hash', 'secret_generation', 'created_at', 'updated_at'], connectorRows);
    await insert('grants', ['id', 'connector_id', 'group_id', 'granted_by', 'refresh_token_hash', 'refresh_token_issued_at', 'refresh_token_expires_at', 'generation', 'created_at'], grantRows);

    // OAuth families of people who signed in to the connectors' apps: rows the refresh grant's
    // lookups must find their way past. Their tokens are not kept (nobody presents them).
    const families = Array.from({ length: size.oauthFamilies }, () => newId());
    await insert('oauth_families', ['id', 'connector_id', 'user_id', 'scope', 'auth_time', 'created_at'],
      rows(size.oauthFamilies, (i) => [families[i], connectorRows[i % connectorRows.length]![0], userIds[i % userIds.length], 'groupinfo.read', now, now]));
    await insert('oauth_refresh_links', ['id', 'family_id', 'token_hash', 'created_at', 'expires_at'],
      rows(size.oauthFamilies, (i) => [uuidv7(now), families[i], sha256(`bench-family-${i}`), now, now + 30 * day]));

    // Kandy: one account (on a plan large enough) per organisation that has projects, users spread over the projects.
    if (size.kandyDomains > 0) {
      const planId = 'bench-large';
      const perDomain = Math.ceil(size.kandyUsers / size.kandyDomains);
      await insert('plans', ['id', 'name', 'max_users', 'created_at'], [[planId, 'Bench large', perDomain * 2, now]]);
      const accounts = Array.from({ length: size.kandyDomains }, () => newId());
      await insert('api_accounts', ['id', 'org_id', 'plan_id', 'api_key', 'api_secret_hash', 'users_used', 'created_at'],
        rows(size.kandyDomains, (i) => [accounts[i], orgIds[i % orgIds.length], planId, `AAKbench${i}`, sha256(`bench-account-${i}`), Math.min(perDomain, size.kandyUsers - i * perDomain), now]));
      const domains = Array.from({ length: size.kandyDomains }, () => newId());
      await insert('domains', ['id', 'account_id', 'org_id', 'domain_name', 'project_name', 'api_key', 'api_secret_hash', 'created_at', 'updated_at'],
        rows(size.kandyDomains, (i) => [domains[i], accounts[i], orgIds[i % orgIds.length], `project${i}.bench.test`, `Project ${i}`, `DAKbench${i}`, sha256(`bench-domain-${i}`), now, now]));
      await insert('domain_users', ['id', 'domain_id', 'account_id', 'user_id', 'country_code', 'first_name', 'last_name', 'email', 'password_hash', 'api_key', 'api_secret_hash', 'created_at'],
        rows(size.kandyUsers, (i) => {
          const d = Math.floor(i / perDomain);
          return [newId(), domains[d], accounts[d], `user${i}`, 'US', null, null, null, passwordHash, `UAKbench${i}`, sha256(`bench-user-${i}`), now];
        }));
    }

    return { grants, ownerId, counts, seedMs: Math.round(performance.now() - started) };
  } finally {
    await sink.close();
  }
}
