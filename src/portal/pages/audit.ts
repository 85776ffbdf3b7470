// The audit log in the portal: an organisation's log for its owners and admins (filter by actor,
// action, target and time; newest first, a page at a time; exported as CSV or JSON Lines with the
// same filter), and Account → Security events, a person's own.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html } from '../../lib/html.js';
import { table } from '../views/layout.js';
import type { Portal } from '../session.js';
import { failureBox, field, type FormFailure } from '../forms.js';
import { ApiError } from '../../lib/errors.js';
import { AuditLogService, CSV_HEADER, csvLine, jsonLine, type AuditEntryView, type AuditFilter } from '../../audit/audit.service.js';

const PAGE = 50;
const Uuid = { type: 'string', format: 'uuid' } as const;
const OrgId = { type: 'object', properties: { orgId: Uuid }, required: ['orgId'] } as const;
const Text = { type: 'string', maxLength: 254 } as const;
const FilterQuery = { type: 'object', properties: { actor: Text, action: { type: 'string', maxLength: 60 }, target: Text, from: { type: 'string', maxLength: 30 }, to: { type: 'string', maxLength: 30 }, before: { type: 'string', maxLength: 36 } } } as const;
const Before = { type: 'object', properties: { before: { type: 'string', maxLength: 36 } } } as const;

const when = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

/** Who did it, as a person reads it. */
const KEY_ACTORS: Record<string, string> = { kandy_account: 'the account API key', kandy_project: 'a project API key' };
const who = (e: AuditEntryView) => (e.actor.type === 'user' ? html`${e.actor.name ?? 'a deleted account'}<br><span class="muted">${e.actor.email ?? e.actor.id}</span>`
  : e.actor.type === 'connector' ? html`${e.actor.name ?? 'a deleted connector'}<br><span class="muted">connector <code>${e.actor.id}</code></span>`
  : e.actor.type === 'anonymous' ? html`someone at ${e.actor.id}`
  : html`${KEY_ACTORS[e.actor.type] ?? e.actor.type}<br><code>${e.actor.id}</code>`);

function entriesTable(entries: AuditEntryView[]) {
  return table(html`<tr><th>Time (UTC)</th><th>Who</th><th>Action</th><th>Target</th><th>What</th><th>From</th></tr>
${entries.map((e) => html`<tr><td class="muted">${when(e.at)}</td><td>${who(e)}</td><td><code>${e.action}</code></td><td><span class="muted">${e.target.type}</span><br><code>${e.target.id}</code></td><td>${e.summary ?? ''}</td>
<td class="muted">${e.ip ?? ''}${e.userAgent ? html`<br><span title="${e.userAgent}">${e.userAgent.slice(0, 40)}${e.userAgent.length > 40 ? '…' : ''}</span>` : ''}</td></tr>`)}
${entries.length ? '' : html`<tr><td colspan="6" class="muted">No entries.</td></tr>`}`, html`id="audit-entries"`);
}

/** The filter as a query string, for the next page and the exports. */
const queryOf = (raw: Record<string, string | undefined>, extra: Record<string, string> = {}): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...raw, ...extra })) if (v && k !== 'before') q.set(k, v);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
};

export async function auditPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const s = portal.services;

  /** The filter from the query; a bad field shows the page with its message and no entries. */
  const filterOf = (query: Record<string, string | undefined>): { filter?: AuditFilter; failure?: FormFailure } => {
    try {
      return { filter: AuditLogService.checkFilter(query) };
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const field = (err.details?.field as string | undefined) ?? 'filter';
      return { failure: { status: 400, message: 'Check the filter below.', fields: { [field]: err.message.replace(/^\w+: /, '') } } };
    }
  };

  r.get('/orgs/:orgId/audit', { schema: { params: OrgId, querystring: FilterQuery } }, async (req, reply) => {
    const org = await s.auditLog.authorize(await portal.actor(req), req.params.orgId);
    const q = req.query as Record<string, string | undefined>;
    const { filter, failure } = filterOf(q);
    const page = filter ? await s.auditLog.page(org.id, filter, { before: q.before, limit: PAGE }) : { entries: [], next: undefined };
    const v = (k: string) => q[k] ?? '';
    return portal.render(reply, portal.ctx(req, `Audit log · ${org.name}`, 'organisations', [[org.name, `/orgs/${org.id}`], ['Audit log']]), html`<h1>Audit log of ${org.name}</h1>${failureBox(failure)}
<form method="get" action="/orgs/${org.id}/audit" class="card filters">
${field({ name: 'actor', label: 'Who (e-mail address or id)', value: v('actor'), maxLength: 254 }, failure)}
${field({ name: 'action', label: 'Action (e.g. connector.created, or connector)', value: v('action'), maxLength: 60 }, failure)}
${field({ name: 'target', label: 'Target id', value: v('target'), maxLength: 254 }, failure)}
${field({ name: 'from', label: 'From (YYYY-MM-DD)', value: v('from'), maxLength: 30, type: 'date' }, failure)}
${field({ name: 'to', label: 'To (YYYY-MM-DD, inclusive)', value: v('to'), maxLength: 30, type: 'date' }, failure)}
<button type="submit">Filter</button> <a class="button secondary" href="/orgs/${org.id}/audit">Clear</a></form>
<p>Export what this filter shows: <a href="/orgs/${org.id}/audit.csv${queryOf(q)}" download>CSV</a> · <a href="/orgs/${org.id}/audit.jsonl${queryOf(q)}" download>JSON Lines</a></p>
${entriesTable(page.entries)}
${page.next ? html`<p><a class="button secondary" href="/orgs/${org.id}/audit${queryOf(q, { before: page.next })}" rel="next">Older entries</a></p>` : ''}`, failure?.status ?? 200);
  });

  // The exports stream: an export of a busy organisation's year is large.
  for (const format of ['csv', 'jsonl'] as const) {
    r.get(`/orgs/:orgId/audit.${format}`, { schema: { params: OrgId, querystring: FilterQuery } }, async (req, reply) => {
      const org = await s.auditLog.authorize(await portal.actor(req), req.params.orgId);
      const filter = AuditLogService.checkFilter(req.query as Record<string, string | undefined>);
      const entries = s.auditLog.all(org.id, filter);
      async function* lines() {
        if (format === 'csv') yield `${CSV_HEADER}\r\n`;
        for await (const e of entries) yield format === 'csv' ? `${csvLine(e)}\r\n` : `${jsonLine(e)}\n`;
      }
      const stamp = new Date().toISOString().slice(0, 10);
      return reply.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/jsonl; charset=utf-8')
        .header('content-disposition', `attachment; filename="audit-${org.id}-${stamp}.${format}"`)
        .send(Readable.from(lines()));
    });
  }

  r.get('/account/security', { schema: { querystring: Before } }, async (req, reply) => securityPage(portal, req, reply, req.query.before));
}

async function securityPage(portal: Portal, req: FastifyRequest, reply: FastifyReply, before: string | undefined): Promise<FastifyReply> {
  const page = await portal.services.auditLog.personal(req.user!.id, { before, limit: PAGE });
  return portal.render(reply, portal.ctx(req, 'Security events', 'account', [['Account', '/account'], ['Security events']]), html`<h1>Security events</h1>
<p class="muted">Log-ins and failed attempts on your account, two-factor authentication, passwords, e-mail, linked sign-in providers and the applications you allowed. If something here was not you, change your password and turn on two-factor authentication.</p>
${entriesTable(page.entries)}
${page.next ? html`<p><a class="button secondary" href="/account/security?before=${page.next}" rel="next">Older events</a></p>` : ''}`);
}
