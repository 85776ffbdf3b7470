// Reading the audit log: an organisation's entries for its owners and admins (the portal page,
// its CSV and JSON Lines exports, the API), and a person's own security events. Newest first,
// paged by the entry id (UUIDv7, so ids sort by time) rather than by offset: a page stays
// stable while new entries arrive, and a deep page costs an index seek, not a scan.
import type { Kysely } from 'kysely';
import type { Deps } from '../deps.js';
import type { Database } from '../db/schema.js';
import { can, type Actor } from '../auth/policy.js';
import { ApiError, invalid, notFound } from '../lib/errors.js';

export const AUDIT_PAGE_MAX = 100;
/** What one export holds at most; narrow the filter for more. */
export const AUDIT_EXPORT_MAX = 100_000;

export interface AuditFilter {
  /** The acting person's e-mail address, or any actor's id (a connector, an address). */
  actor?: string | undefined;
  /** An action, or a family of them (`connector` matches `connector.created`, …). */
  action?: string | undefined;
  /** A target's id. */
  target?: string | undefined;
  /** Epoch milliseconds, inclusive / exclusive. */
  from?: number | undefined;
  to?: number | undefined;
}

export interface AuditEntryView {
  id: string;
  at: number;
  action: string;
  actor: { type: string; id: string; name: string | null; email: string | null };
  target: { type: string; id: string };
  summary: string | null;
  ip: string | null;
  userAgent: string | null;
}

const ACTION = /^[a-z_]+(\.[a-z_]+)?$/;

export class AuditLogService {
  constructor(private readonly deps: Deps) {}

  /** Owners and admins read their organisation's log; anyone else is told it does not exist. */
  async authorize(actor: Actor, orgId: string): Promise<{ id: string; name: string }> {
    const org = await this.deps.db.selectFrom('organizations').select(['id', 'name']).where('id', '=', orgId).executeTakeFirst();
    if (!org || !can(actor, 'org.read', { orgId })) throw notFound('Organisation');
    if (!can(actor, 'org.read_audit', { orgId })) throw new ApiError('forbidden', 'Only owners and admins of the organisation may read its audit log');
    return org;
  }

  /** A page of an organisation's entries, newest first, older than `before` (an entry id). */
  async page(orgId: string, filter: AuditFilter, opts: { before?: string | undefined; limit: number }): Promise<{ entries: AuditEntryView[]; next: string | undefined }> {
    const limit = Math.min(Math.max(1, opts.limit), AUDIT_PAGE_MAX);
    const rows = await this.query(this.deps.db, orgId, filter, opts.before, limit + 1);
    const entries = rows.slice(0, limit);
    return { entries, next: rows.length > limit ? entries.at(-1)!.id : undefined };
  }

  /** Every entry the filter matches (up to AUDIT_EXPORT_MAX), in batches, newest first. */
  async *all(orgId: string, filter: AuditFilter): AsyncGenerator<AuditEntryView> {
    let before: string | undefined;
    let sent = 0;
    while (sent < AUDIT_EXPORT_MAX) {
      const batch = await this.query(this.deps.db, orgId, filter, before, Math.min(1000, AUDIT_EXPORT_MAX - sent));
      for (const e of batch) yield e;
      sent += batch.length;
      if (batch.length < 1000) return;
      before = batch.at(-1)!.id;
    }
  }

  /**
   * A person's own security events: what they did outside any organisation (log-ins, 2FA,
   * passwords, consents, linked providers) and what was tried against their account.
   */
  async personal(userId: string, opts: { before?: string | undefined; limit: number }): Promise<{ entries: AuditEntryView[]; next: string | undefined }> {
    const limit = Math.min(Math.max(1, opts.limit), AUDIT_PAGE_MAX);
    let q = this.select(this.deps.db)
      .where((eb) => eb.or([
        eb.and([eb('audit_events.actor_type', '=', 'user'), eb('audit_events.actor_id', '=', userId), eb('audit_events.org_id', 'is', null)]),
        eb.and([eb('audit_events.target_type', '=', 'user'), eb('audit_events.target_id', '=', userId)]),
      ]));
    if (opts.before) q = q.where('audit_events.id', '<', opts.before);
    const rows = (await q.orderBy('audit_events.id', 'desc').limit(limit + 1).execute()).map(view);
    const entries = rows.slice(0, limit);
    return { entries, next: rows.length > limit ? entries.at(-1)!.id : undefined };
  }

  /** Checks a filter from a form or a query string, field by field. */
  static checkFilter(raw: { actor?: string | undefined; action?: string | undefined; target?: string | undefined; from?: string | undefined; to?: string | undefined }): AuditFilter {
    const text = (v: string | undefined) => (v?.trim() ? v.trim() : undefined);
    const day = (v: string | undefined, field: string, end: boolean) => {
      const t = text(v);
      if (t === undefined) return undefined;
      const ms = /^\d{4}-\d{2}-\d{2}$/.test(t) ? Date.parse(`${t}T00:00:00Z`) : Date.parse(t);
      if (Number.isNaN(ms)) throw invalid(field, 'must be a date (YYYY-MM-DD) or a time (ISO 8601)');
      // A date "to" includes its whole day.
      return end && /^\d{4}-\d{2}-\d{2}$/.test(t) ? ms + 24 * 3600_000 : ms;
    };
    const action = text(raw.action);
    if (action !== undefined && !ACTION.test(action)) throw invalid('action', 'must be an action such as connector.created, or a family such as connector');
    return { actor: text(raw.actor)?.toLowerCase(), action, target: text(raw.target), from: day(raw.from, 'from', false), to: day(raw.to, 'to', true) };
  }

  private select(db: Kysely<Database>) {
    return db.selectFrom('audit_events')
      .leftJoin('users', (j) => j.onRef('users.id', '=', 'audit_events.actor_id').on('audit_events.actor_type', '=', 'user'))
      .leftJoin('connectors', (j) => j.onRef('connectors.id', '=', 'audit_events.actor_id').on('audit_events.actor_type', '=', 'connector'))
      .select((eb) => eb.fn.coalesce('users.name', 'connectors.name').as('actor_name'))
      .select(['audit_events.id', 'audit_events.created_at', 'audit_events.action', 'audit_events.actor_type', 'audit_events.actor_id', 'users.email as actor_email',
        'audit_events.target_type', 'audit_events.target_id', 'audit_events.summary', 'audit_events.ip', 'audit_events.user_agent']);
  }

  private async query(db: Kysely<Database>, orgId: string, f: AuditFilter, before: string | undefined, limit: number): Promise<AuditEntryView[]> {
    let q = this.select(db).where('audit_events.org_id', '=', orgId);
    if (f.actor) {
      const actor = f.actor;
      q = q.where((eb) => eb.or([eb('users.email', '=', actor), eb('audit_events.actor_id', '=', actor)]));
    }
    // A family is the range of actions after `family.` ('/' follows '.'): no LIKE wildcards to escape.
    if (f.action) q = f.action.includes('.') ? q.where('audit_events.action', '=', f.action) : q.where('audit_events.action', '>=', `${f.action}.`).where('audit_events.action', '<', `${f.action}/`);
    if (f.target) q = q.where('audit_events.target_id', '=', f.target);
    if (f.from !== undefined) q = q.where('audit_events.created_at', '>=', f.from);
    if (f.to !== undefined) q = q.where('audit_events.created_at', '<', f.to);
    if (before) q = q.where('audit_events.id', '<', before);
    return (await q.orderBy('audit_events.id', 'desc').limit(limit).execute()).map(view);
  }
}

type Row = {
  id: string; created_at: number; action: string; actor_type: string; actor_id: string; actor_name: string | null; actor_email: string | null;
  target_type: string; target_id: string; summary: string | null; ip: string | null; user_agent: string | null;
};

const view = (r: Row): AuditEntryView => ({
  id: r.id, at: r.created_at, action: r.action, actor: { type: r.actor_type, id: r.actor_id, name: r.actor_name, email: r.actor_email },
  target: { type: r.target_type, id: r.target_id }, summary: r.summary, ip: r.ip, userAgent: r.user_agent,
});

/** One entry as a CSV line (RFC 4180 quoting; a leading = + - @ is quoted away from spreadsheets' formulas). */
export function csvLine(e: AuditEntryView): string {
  const cell = (v: string | null) => {
    const s = v ?? '';
    const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
    return /[",\r\n]/.test(safe) || safe !== s ? `"${safe.replaceAll('"', '""')}"` : safe;
  };
  return [new Date(e.at).toISOString(), e.action, e.actor.type, e.actor.id, e.actor.email, e.target.type, e.target.id, e.summary, e.ip, e.userAgent].map(cell).join(',');
}

export const CSV_HEADER = 'time,action,actor_type,actor_id,actor_email,target_type,target_id,summary,ip,user_agent';

/** One entry as a JSON Lines object. */
export const jsonLine = (e: AuditEntryView): string => JSON.stringify({
  id: e.id, time: new Date(e.at).toISOString(), action: e.action, actor: e.actor, target: e.target, summary: e.summary, ip: e.ip, user_agent: e.userAgent,
});
