// How long rows that only ever expire are kept, and the pruner that removes them. Without it the
// token tables grow with every login, code, refresh and Kandy token for as long as Tessera runs.
//
// Rows are removed a week after they expire, not at once: within that week an expired credential
// is still recognised and refused as expired (not as unknown), and a spent refresh token replayed
// after its expiry still revokes its family (RFC 9700 §4.14). After it, such a token is refused
// as one Tessera never issued. Finished webhook deliveries (their payloads hold message text) are
// kept 30 days for the connector's owner to inspect.
//
// Every instance may prune: the deletes are idempotent. They run in batches, each a short
// statement of its own, so that on SQLite (one writer) requests' writes interleave with a large
// first prune instead of waiting behind it.
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { Clock } from '../lib/clock.js';
import type { FastifyBaseLogger } from 'fastify';
import { uuidv7Floor } from '../lib/ids.js';
import { REFRESH_TOKEN_TTL_MS } from '../oauth/refresh-token-format.js';

const DAY = 24 * 3600_000;
/** How long a row is kept after it expires. */
export const KEPT_AFTER_EXPIRY_MS = 7 * DAY;
/** How long a delivered or abandoned webhook delivery is kept. */
export const DELIVERIES_KEPT_MS = 30 * DAY;
const BATCH = 2000;

export interface PruneCounts {
  sessions: number;
  oauth_codes: number;
  oauth_revoked_access_tokens: number;
  oauth_refresh_links: number;
  oauth_families: number;
  domain_tokens: number;
  webhook_deliveries: number;
  platform_event_deliveries: number;
  idempotency_keys: number;
  email_links: number;
  mail_messages: number;
  federated_logins: number;
  audit_events: number;
}

/** What the operator chose to keep: the audit log's age in ms (AUDIT_RETENTION_DAYS; 0 keeps it all). */
export interface RetentionPolicy {
  auditMs: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { auditMs: 365 * DAY };

type Db = Kysely<Database>;
/** Deletes one batch of its table and answers how many; what it deletes of another table it adds to `counts`. */
type Step = (db: Db, now: number, policy: RetentionPolicy, counts: PruneCounts) => Promise<number>;

const deleted = (res: { numDeletedRows: bigint }): number => Number(res.numDeletedRows);

// Each step deletes at most one batch; prune() repeats a step until it deletes less than that.
const steps: { [K in keyof PruneCounts]: Step } = {
  sessions: async (db, now) => deleted(await db.deleteFrom('sessions').where('id_hash', 'in', (eb) => eb.selectFrom('sessions')
    .select('id_hash').where('expires_at', '<', now - KEPT_AFTER_EXPIRY_MS).limit(BATCH)).executeTakeFirst()),

  oauth_codes: async (db, now) => deleted(await db.deleteFrom('oauth_codes').where('code_hash', 'in', (eb) => eb.selectFrom('oauth_codes')
    .select('code_hash').where('expires_at', '<', now - KEPT_AFTER_EXPIRY_MS).limit(BATCH)).executeTakeFirst()),

  // A revoked access token's entry is useless once the token's own exp refuses it.
  oauth_revoked_access_tokens: async (db, now) => deleted(await db.deleteFrom('oauth_revoked_access_tokens').where('jti', 'in', (eb) => eb
    .selectFrom('oauth_revoked_access_tokens').select('jti').where('expires_at', '<', now).limit(BATCH)).executeTakeFirst()),

  // Refresh links a week past their expiry, and with the last link of a chain its family: the
  // link no later one spends is the family's newest, and once it is that old no token of the
  // family is alive or will be (a refresh appends only after an unexpired link). A link's id is a
  // UUIDv7 of its creation, the key's order, so the batch is read from the old end of the key: a
  // link that expired before the cutoff was made at least a refresh token's life before it (the
  // bound narrows the read; expires_at decides). Links whose family is gone go the same way.
  oauth_refresh_links: async (db, now, _policy, counts) => {
    const cutoff = now - KEPT_AFTER_EXPIRY_MS;
    const batch = await db.selectFrom('oauth_refresh_links as l')
      .select(['l.id', 'l.family_id', (eb) => eb.exists(eb.selectFrom('oauth_refresh_links as n').select(sql.lit(1).as('one')).whereRef('n.spends', '=', 'l.id')).as('spent')])
      .where('l.id', '<', uuidv7Floor(cutoff - REFRESH_TOKEN_TTL_MS)).where('l.expires_at', '<', cutoff).limit(BATCH).execute();
    if (!batch.length) return 0;
    const ended = batch.filter((l) => !l.spent).map((l) => l.family_id);
    await db.transaction().execute(async (trx) => {
      if (ended.length) counts.oauth_families += deleted(await trx.deleteFrom('oauth_families').where('id', 'in', ended).executeTakeFirst());
      await trx.deleteFrom('oauth_refresh_links').where('id', 'in', batch.map((l) => l.id)).execute();
    });
    return batch.length;
  },

  // A family issued without a refresh token, a week after its access tokens expired.
  oauth_families: async (db, now) => deleted(await db.deleteFrom('oauth_families').where('id', 'in', (eb) => eb.selectFrom('oauth_families')
    .select('id').where('expires_at', '<', now - KEPT_AFTER_EXPIRY_MS).limit(BATCH)).executeTakeFirst()),

  domain_tokens: async (db, now) => deleted(await db.deleteFrom('domain_tokens').where('token_hash', 'in', (eb) => eb.selectFrom('domain_tokens')
    .select('token_hash').where('expires_at', '<', now - KEPT_AFTER_EXPIRY_MS).limit(BATCH)).executeTakeFirst()),

  webhook_deliveries: async (db, now) => deleted(await db.deleteFrom('webhook_deliveries').where('id', 'in', (eb) => eb.selectFrom('webhook_deliveries')
    .select('id').where('status', 'in', ['delivered', 'failed']).where('created_at', '<', now - DELIVERIES_KEPT_MS).limit(BATCH)).executeTakeFirst()),

  platform_event_deliveries: async (db, now) => deleted(await db.deleteFrom('platform_event_deliveries').where('id', 'in', (eb) => eb.selectFrom('platform_event_deliveries')
    .select('id').where('status', 'in', ['delivered', 'failed']).where('created_at', '<', now - DELIVERIES_KEPT_MS).limit(BATCH)).executeTakeFirst()),

  // A link is refused once expired; its row tells nothing after the grace week.
  email_links: async (db, now) => deleted(await db.deleteFrom('email_links').where('token_hash', 'in', (eb) => eb.selectFrom('email_links')
    .select('token_hash').where('expires_at', '<', now - KEPT_AFTER_EXPIRY_MS).limit(BATCH)).executeTakeFirst()),

  // The development outbox keeps a week of messages.
  mail_messages: async (db, now) => deleted(await db.deleteFrom('mail_messages').where('id', 'in', (eb) => eb.selectFrom('mail_messages')
    .select('id').where('created_at', '<', now - KEPT_AFTER_EXPIRY_MS).limit(BATCH)).executeTakeFirst()),

  // A sign-in's state is refused once expired (replays say "expired" for the grace week).
  federated_logins: async (db, now) => deleted(await db.deleteFrom('federated_logins').where('state_hash', 'in', (eb) => eb.selectFrom('federated_logins')
    .select('state_hash').where('expires_at', '<', now - KEPT_AFTER_EXPIRY_MS).limit(BATCH)).executeTakeFirst()),

  // The audit log is kept as long as the operator says (AUDIT_RETENTION_DAYS), then goes oldest first.
  audit_events: async (db, now, policy) => (policy.auditMs <= 0 ? 0 : deleted(await db.deleteFrom('audit_events').where('id', 'in', (eb) => eb.selectFrom('audit_events')
    .select('id').where('created_at', '<', now - policy.auditMs).limit(BATCH)).executeTakeFirst())),

  // A key is answered for 24 hours; after that the same key is a new request.
  idempotency_keys: async (db, now) => deleted(await db.deleteFrom('idempotency_keys').where((eb) => eb(eb.refTuple('scope', 'key'), 'in',
    eb.selectFrom('idempotency_keys').select(['scope', 'key']).where('expires_at', '<', now).limit(BATCH).$asTuple('scope', 'key'))).executeTakeFirst()),
};

const yieldToRequests = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Removes every row past its retention; answers how many of each table. */
export async function prune(db: Db, now: number, policy: RetentionPolicy = DEFAULT_RETENTION): Promise<PruneCounts> {
  const tables = Object.keys(steps) as (keyof PruneCounts)[];
  const counts = Object.fromEntries(tables.map((t) => [t, 0])) as unknown as PruneCounts;
  for (const table of tables) {
    for (;;) {
      const n = await steps[table](db, now, policy, counts);
      counts[table] += n;
      if (n < BATCH) break;
      await yieldToRequests();
    }
  }
  return counts;
}

/** Prunes on a timer, in the server process. The first run comes soon after start, at a random offset. */
export class Pruner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PruneCounts> | undefined;
  private stopped = false;

  constructor(private readonly db: Db, private readonly clock: Clock, private readonly log: FastifyBaseLogger, private readonly policy: RetentionPolicy = DEFAULT_RETENTION) {}

  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    const schedule = (delay: number): void => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        void this.run().catch((err: unknown) => this.log.error({ err }, 'pruning expired rows failed')).finally(() => schedule(intervalMs));
      }, delay);
      this.timer.unref();
    };
    // Instances started together do not all prune at once.
    schedule(Math.min(intervalMs, 60_000) * (0.5 + Math.random()));
  }

  run(): Promise<PruneCounts> {
    this.running ??= prune(this.db, this.clock.now(), this.policy).then((counts) => {
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      if (total) this.log.info({ deleted: counts }, 'pruned expired rows');
      return counts;
    }).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
