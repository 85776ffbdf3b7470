// Plans and their user quotas, as the operator of a Tessera configures them (`tessera plans`).
// Plans are data, not code: a change takes effect at the next create, in every process, because
// the quota check reads the plan's row inside the create's transaction (queries.ts, takeUserSlot).
// Lowering a quota below an account's usage deletes nobody: the account keeps its users and new
// ones are refused until it is under the limit again.
import type { Deps } from '../deps.js';
import { ApiError, invalid } from '../lib/errors.js';
import type { Database, PlansTable } from '../db/schema.js';
import type { Kysely } from 'kysely';
import { recordAudit } from '../audit/audit-log.js';
import * as q from './queries.js';

/** The column is a 32-bit INTEGER on PostgreSQL; a larger quota would fail there and not on SQLite. */
export const MAX_PLAN_USERS = 2_147_483_647;
const PLAN_ID_RE = /^[a-z][a-z0-9_-]{0,31}$/;

/** maxUsers as typed on a command line (a string) or as a number; both are checked the same way. */
export interface SetPlanInput { id: string; maxUsers?: string | number | undefined; name?: string | undefined }
export interface SetPlanResult { plan: PlansTable; previous: PlansTable | undefined; accountsOver: number }
export interface AssignResult {
  org: { id: string; name: string };
  plan: PlansTable;
  previousPlanId: string | undefined;
  usersUsed: number;
}

/** Checks a plan id given as an argument: the shape first, so a typo is named as such. */
function planId(raw: string | undefined): string {
  if (raw === undefined || raw === '') throw new ApiError('validation_failed', 'plan: is required', { field: 'plan', missing: true });
  if (!PLAN_ID_RE.test(raw)) throw invalid('plan', 'must be 1 to 32 lower-case letters, digits, "-" or "_", starting with a letter');
  return raw;
}

/** Whole numbers only: "10", not "1e1", "10.0", "-1" or "ten". */
function maxUsers(raw: string | number): number {
  const text = String(raw);
  const n = /^[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n > MAX_PLAN_USERS) throw invalid('max_users', `must be a whole number from 0 to ${MAX_PLAN_USERS}`);
  return n;
}

function planName(raw: string): string {
  const v = raw.trim();
  // eslint-disable-next-line no-control-regex
  if (v.length < 1 || v.length > 50 || /[\u0000-\u001f\u007f]/.test(v)) throw invalid('name', 'must be 1 to 50 characters, without control characters');
  return v;
}

export class PlansService {
  constructor(private readonly deps: Pick<Deps, 'db' | 'clock'>) {}

  list(): Promise<q.PlanUsage[]> {
    return q.listPlanUsage(this.deps.db);
  }

  /**
   * Changes a plan's quota or name, or creates the plan (then both are required). Every argument
   * is checked before anything is written, and the write is one statement.
   */
  async set(input: SetPlanInput): Promise<SetPlanResult> {
    const id = planId(input.id);
    const max = input.maxUsers === undefined ? undefined : maxUsers(input.maxUsers);
    const name = input.name === undefined ? undefined : planName(input.name);
    return this.deps.db.transaction().execute(async (trx) => {
      const previous = await q.findPlan(trx, id);
      if (!previous) {
        if (max === undefined) throw new ApiError('validation_failed', `max_users: is required to create the plan "${id}"`, { field: 'max_users', missing: true });
        if (name === undefined) throw new ApiError('validation_failed', `name: is required to create the plan "${id}"`, { field: 'name', missing: true });
        await q.insertPlan(trx, { id, name, max_users: max, created_at: this.deps.clock.now() });
      } else {
        if (max === undefined && name === undefined) throw new ApiError('validation_failed', 'max_users: give a new quota, a new name or both', { field: 'max_users', missing: true });
        await q.updatePlan(trx, id, { ...(max === undefined ? {} : { max_users: max }), ...(name === undefined ? {} : { name }) });
      }
      await this.audit(trx, null, previous ? 'plan.updated' : 'plan.created', 'plan', id);
      const plan = (await q.findPlan(trx, id))!;
      const usage = (await q.listPlanUsage(trx)).find((p) => p.id === id);
      return { plan, previous, accountsOver: usage?.accounts_over ?? 0 };
    });
  }

  /**
   * Moves an organisation's account to a plan. The organisation is named by its id (the portal's
   * /orgs/<id>) or by its account API key (AAK…, on its Projects page), whichever the customer
   * gave. An organisation that never opened its Projects page gets its account now, on that plan.
   */
  async assign(orgOrKey: string | undefined, planIdInput: string | undefined): Promise<AssignResult> {
    if (!orgOrKey) throw new ApiError('validation_failed', 'organisation: is required', { field: 'organisation', missing: true });
    const id = planId(planIdInput);
    return this.deps.db.transaction().execute(async (trx) => {
      const plan = await q.findPlan(trx, id);
      if (!plan) throw invalid('plan', `there is no plan "${id}" (tessera plans list shows them)`);
      const byKey = orgOrKey.startsWith('AAK') ? await q.findAccountByKey(trx, orgOrKey) : undefined;
      const orgId = byKey ? byKey.org_id : orgOrKey;
      const org = await trx.selectFrom('organizations').select(['id', 'name']).where('id', '=', orgId).executeTakeFirst();
      if (!org) throw invalid('organisation', `there is no organisation with id or account API key "${orgOrKey}"`);
      const before = await q.findAccountByOrg(trx, org.id);
      if (before) await q.setAccountPlan(trx, before.id, plan.id);
      else await q.insertAccountIfAbsent(trx, q.newAccountRow(org.id, plan.id, this.deps.clock.now()));
      const account = (await q.findAccountByOrg(trx, org.id))!;
      await this.audit(trx, org.id, 'account.plan_changed', 'api_account', account.id);
      return { org, plan, previousPlanId: before?.plan_id, usersUsed: account.users_used };
    });
  }

  private audit(trx: Kysely<Database>, orgId: string | null, action: string, targetType: string, targetId: string): Promise<void> {
    return recordAudit(trx, { actor: { type: 'system', id: 'tessera-cli' }, orgId, action, target: { type: targetType, id: targetId }, at: this.deps.clock.now() });
  }

}
