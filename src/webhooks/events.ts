// Group events become webhook deliveries: one row per matching active webhook, sent later by the
// dispatcher. Writing the row is all the request path does, so a slow endpoint never slows a
// connector's API call.
import type { Deps } from '../deps.js';
import { newId, uuidv7 } from '../lib/ids.js';
import { prepared } from '../db/prepared.js';
import type { ReadCache } from '../db/read-cache.js';

export const EVENT_TYPES = ['TextMessageCreated', 'MemberAdded', 'MemberRemoved'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface EventSource { userId: string; name: string; phone: string }

interface ActiveHook { id: string; eventTypes: string[]; callback_context: string | null; expires_at: number | null }

const activeHooks = prepared<{ groupId: string }>()((db, p) => db.selectFrom('webhooks')
  .innerJoin('grants', 'grants.id', 'webhooks.grant_id')
  .select(['webhooks.id', 'webhooks.event_types', 'webhooks.callback_context', 'webhooks.expires_at'])
  .where('webhooks.object_id', '=', p.groupId).where('webhooks.active', '=', 1).where('grants.revoked_at', 'is', null));

export class WebhookEvents {
  // Every message and member change asks which webhooks watch its group; most groups have none,
  // and the answer changes only with webhooks or grants.
  private readonly hooks: ReadCache<ActiveHook[]>;

  constructor(private readonly deps: Deps) {
    this.hooks = deps.caches.region('webhooks:by-group', { tables: ['webhooks', 'grants'], max: 10_000 });
  }

  async emit(groupId: string, eventType: EventType, data: Record<string, unknown>, from: EventSource): Promise<number> {
    const now = this.deps.clock.now();
    const hooks = (await this.hooks.load(groupId, async () => (await activeHooks.all(this.deps.db, { groupId }))
      .map((h) => ({ id: h.id, eventTypes: JSON.parse(h.event_types) as string[], callback_context: h.callback_context, expires_at: h.expires_at }))))!;
    const rows = hooks
      .filter((h) => (h.expires_at === null || h.expires_at > now) && h.eventTypes.includes(eventType))
      .map((h) => {
        const eventId = newId();
        const payload = {
          objectId: groupId, objectType: 'Group', eventType, eventId, data,
          context: h.callback_context ?? '',
          fromUser: from.phone, fromUserId: from.userId, fromUserName: from.name,
        };
        return { id: uuidv7(now), webhook_id: h.id, event_id: eventId, payload: JSON.stringify(payload), status: 'pending' as const, attempts: 0, next_attempt_at: now, last_error: null, created_at: now, delivered_at: null };
      });
    if (rows.length) await this.deps.db.insertInto('webhook_deliveries').values(rows).execute();
    return rows.length;
  }
}
