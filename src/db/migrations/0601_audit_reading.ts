// Reading the audit log (issue 16): an organisation's entries newest first by id (UUIDv7), and a
// person's entries about them as a target.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('audit_events_org_id').on('audit_events').columns(['org_id', 'id']).execute();
  await db.schema.createIndex('audit_events_target').on('audit_events').columns(['target_id', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_events_target').execute();
  await db.schema.dropIndex('audit_events_org_id').execute();
}
