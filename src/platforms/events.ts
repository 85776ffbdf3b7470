// Membership events for a platform's endpoint, in the shape of Zaikio's Loom events:
// `{id, name, subject, timestamp, version, payload}`. The delivery row is written in the
// transaction that changes the membership (an outbox: no event without the change, no change
// without its event); the webhook dispatcher sends it, signed (webhooks/dispatcher.ts).
import type { Kysely } from 'kysely';
import type { Database, JoinedVia, MemberType } from '../db/schema.js';
import { newId, uuidv7 } from '../lib/ids.js';

export type MembershipEventName = 'directory.platform_membership_created' | 'directory.platform_membership_ended';

export async function membershipEvent(trx: Kysely<Database>, now: number, platformId: string, name: MembershipEventName,
  member: { type: MemberType; id: string; joinedVia?: JoinedVia }): Promise<void> {
  const platform = await trx.selectFrom('platforms').select(['name', 'webhook_url']).where('id', '=', platformId).executeTakeFirst();
  if (!platform?.webhook_url) return;
  const eventId = newId();
  const payload = {
    id: eventId, name, subject: `${member.type === 'Person' ? 'Per' : 'Org'}/${member.id}`, timestamp: new Date(now).toISOString(), version: '1.0',
    payload: { platform: platform.name, member_type: member.type, member_id: member.id, ...(member.joinedVia ? { joined_via: member.joinedVia } : {}) },
  };
  await trx.insertInto('platform_event_deliveries').values({
    id: uuidv7(now), platform_id: platformId, event_id: eventId, payload: JSON.stringify(payload), status: 'pending', attempts: 0,
    next_attempt_at: now, last_error: null, created_at: now, delivered_at: null,
  }).execute();
}
