// Membership events of a platform (created, ended) go to the platform's own endpoint, if it set
// one. Written in the transaction of the membership change (an outbox), sent by the webhook
// dispatcher with the same leases and retries as group events.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('platforms').addColumn('webhook_url', 'text').execute();
  await db.schema.createTable('platform_event_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id').onDelete('cascade'))
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('delivered_at', 'bigint')
    .execute();
  await db.schema.createIndex('platform_event_deliveries_due').on('platform_event_deliveries').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('platform_event_deliveries_platform').on('platform_event_deliveries').column('platform_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('platform_event_deliveries').execute();
  await db.schema.alterTable('platforms').dropColumn('webhook_url').execute();
}
