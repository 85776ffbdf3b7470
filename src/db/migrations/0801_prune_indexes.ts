// Indexes for the pruner (db/retention.ts; issue 17, "Production sizes"). Each of its steps asks
// for up to a batch of rows past a time, and most tables had nothing to find them by: SQLite and
// PostgreSQL read the whole table, and since a run ends on a batch smaller than the limit, every
// run read every such table to its end. On SQLite that read is a synchronous call: with a million
// Kandy tokens or audit events the server stopped answering for as long as it took, every hour.
// With these, a step reads the rows it deletes and one index entry beyond them.
//
// Built in the migration's transaction (CONCURRENTLY cannot run in one): on a large PostgreSQL
// database, writes to these tables wait while `tessera migrate` builds them; reads do not.
import type { Kysely } from 'kysely';

/** [index, table, columns]: what each step of the pruner filters on, in that order. */
const PRUNE_INDEXES: readonly (readonly [string, string, readonly string[]])[] = [
  ['sessions_expiry', 'sessions', ['expires_at']],
  ['oauth_codes_expiry', 'oauth_codes', ['expires_at']],
  ['oauth_revoked_access_tokens_expiry', 'oauth_revoked_access_tokens', ['expires_at']],
  ['domain_tokens_expiry', 'domain_tokens', ['expires_at']],
  ['email_links_expiry', 'email_links', ['expires_at']],
  ['federated_logins_expiry', 'federated_logins', ['expires_at']],
  ['mail_messages_created', 'mail_messages', ['created_at']],
  ['audit_events_created', 'audit_events', ['created_at']],
  // Finished deliveries by age: the due index (status, next_attempt_at) found every finished one.
  ['webhook_deliveries_finished', 'webhook_deliveries', ['status', 'created_at']],
  ['platform_event_deliveries_finished', 'platform_event_deliveries', ['status', 'created_at']],
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [name, table, columns] of PRUNE_INDEXES) await db.schema.createIndex(name).on(table).columns([...columns]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [name] of PRUNE_INDEXES) await db.schema.dropIndex(name).execute();
}
