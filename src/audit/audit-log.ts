// The audit log: who did what to what, from where, written in the transaction of the change it
// records (so an entry exists exactly when the change does). A refused attempt that changes
// nothing — a failed sign-in — is recorded on its own. Summaries name what changed, never a secret.
import type { Kysely } from 'kysely';
import type { AuditActorType, Database } from '../db/schema.js';
import { uuidv7 } from '../lib/ids.js';

/** Where a request came from, as the audit log keeps it. */
export interface ClientInfo {
  ip: string;
  userAgent: string | undefined;
}

export interface AuditEntry {
  actor: { type: AuditActorType; id: string };
  action: string;
  target: { type: string; id: string };
  orgId?: string | null;
  summary?: string;
  client?: ClientInfo;
  at: number;
}

/** Who acted and from where: the part of an entry a service is handed by its caller. */
export type AuditBy = Pick<AuditEntry, 'actor' | 'client'>;

/** An entry's actor and client for a person acting through the portal (auth/policy.ts Actor). */
export const byPerson = (actor: { userId: string; client?: ClientInfo | undefined }): AuditBy =>
  ({ actor: { type: 'user', id: actor.userId }, ...(actor.client ? { client: actor.client } : {}) });

const USER_AGENT_MAX = 300;
const SUMMARY_MAX = 500;

export async function recordAudit(db: Kysely<Database>, e: AuditEntry): Promise<void> {
  await db.insertInto('audit_events').values({
    id: uuidv7(e.at), org_id: e.orgId ?? null, actor_type: e.actor.type, actor_id: e.actor.id, action: e.action,
    target_type: e.target.type, target_id: e.target.id, created_at: e.at,
    ip: e.client?.ip ?? null, user_agent: e.client?.userAgent?.slice(0, USER_AGENT_MAX) ?? null, summary: e.summary?.slice(0, SUMMARY_MAX) ?? null,
  }).execute();
}
