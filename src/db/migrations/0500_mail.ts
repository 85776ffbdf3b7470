// E-mail (issue 14): verified addresses, single-use links (verify an address, reset a password),
// and the development outbox. A link's token is kept as its SHA-256 only; an outbox message that
// carries one names it by the same hash, so using the link blanks it out of the outbox too.
import type { Kysely } from 'kysely';

const ts = 'bigint' as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('email_verified_at', ts).execute();

  await db.schema.createTable('email_links')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // verify | reset
    .addColumn('purpose', 'text', (c) => c.notNull())
    // The address the link was sent to: verifying proves this one, not whatever the account has now.
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('used_at', ts)
    .execute();
  await db.schema.createIndex('email_links_user').on('email_links').columns(['user_id', 'purpose']).execute();

  await db.schema.createTable('mail_messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('link_hash', 'text')
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mail_messages_user').on('mail_messages').columns(['user_id', 'created_at']).execute();
  await db.schema.createIndex('mail_messages_link').on('mail_messages').column('link_hash').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('mail_messages').execute();
  await db.schema.dropTable('email_links').execute();
  await db.schema.alterTable('users').dropColumn('email_verified_at').execute();
}
