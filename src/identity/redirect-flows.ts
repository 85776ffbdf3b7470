// The redirect flows of the Zaikio seed that a platform's app sends a person through and gets
// them back from: changing the password (`/oauth/platform/password`) and the e-mail address
// (`/oauth/platform/email`), and setting an organisation's means of payment
// (`/oauth/platform/means_of_payment`, owners only), and under a platform's `/{platform}/oauth/platform/…` in its look.
// The client and its redirect URI are checked as for an authorization request (an unknown one is
// an error page, never a redirect); the person logs in first if needed; submitting or cancelling
// goes back to the redirect URI with `result=…`, the request's `state` and `iss` (docs/zaikio.md).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { Services } from '../services.js';
import { SESSION_COOKIE, type Portal } from '../portal/session.js';
import { clientOf } from '../http/client.js';
import { attempt, failureBox, field, fieldError, type FormFailure } from '../portal/forms.js';
import { ApiError } from '../lib/errors.js';
import type { PaymentInput } from '../payments/means-of-payment.js';
import { csrfField } from '../portal/views/layout.js';
import { html, type SafeHtml } from '../lib/html.js';
import { AuthorizePageError, redirectTo, resolveClientAndRedirect, type ClientAndRedirect } from '../oauth/authorize.js';
import { errorPage } from '../oauth/views.js';
import { EMAIL_MAX, PASSWORD_MAX, PASSWORD_MIN } from '../accounts/accounts.service.js';

const Str = { type: 'string', maxLength: 2000 } as const;
const Query = {
  type: 'object',
  properties: { client_id: { type: 'string', maxLength: 100 }, redirect_uri: Str, state: { type: 'string', maxLength: 500 }, organization_id: { type: 'string', maxLength: 100 } },
} as const;
const Text = { type: 'string', maxLength: 200 } as const;
const Body = {
  type: 'object',
  properties: {
    ...Query.properties, _csrf: { type: 'string' }, action: { type: 'string', enum: ['submit', 'cancel'] },
    current_password: { type: 'string', maxLength: PASSWORD_MAX }, new_password: { type: 'string', maxLength: PASSWORD_MAX }, new_email: { type: 'string', maxLength: EMAIL_MAX },
    kind: { type: 'string', maxLength: 20 }, holder: Text, iban: Text, bic: Text, billing_name: Text, billing_street: Text, billing_postal_code: Text,
    billing_city: Text, billing_country: Text, vat_id: Text,
  },
  required: ['_csrf', 'action'],
} as const;
type FlowBody = { current_password?: string; new_password?: string; new_email?: string; organization_id?: string } & PaymentInput;

/** Where a platform's pages live (`/{name}`), and which organisation's apps may use them; '' and none for Tessera's own. */
export interface FlowScope { prefix(req: FastifyRequest): string; orgId(req: FastifyRequest): string | undefined }

interface Flow {
  /** The path under the prefix: `/oauth/platform/password`. */
  path: string;
  title: string;
  submitLabel: string;
  fields(failure: FormFailure | undefined, values: FlowBody, context: string): SafeHtml;
  note: string;
  /**
   * Checked before the form is shown or taken, once the person is known (only an owner of the
   * organisation sets its means of payment): a refusal is a page, never a redirect. Answers what
   * the form says it is about.
   */
  guard?(req: FastifyRequest, params: FlowBody): Promise<string>;
  /** Does the change (or starts it); answers the result the redirect carries. */
  submit(req: FastifyRequest, body: FlowBody): Promise<string>;
}

async function flowRoutes(app: FastifyInstance, services: Services, portal: Portal, scope: FlowScope, routePrefix: string, flow: Flow): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const issuer = services.deps.config.publicUrl;
  const path = `${routePrefix}${flow.path}`;

  const client = async (req: FastifyRequest, params: Record<string, unknown>): Promise<ClientAndRedirect> => {
    const orgId = scope.orgId(req);
    return resolveClientAndRedirect(services.deps, params, orgId ? { orgId } : undefined);
  };
  const errorOf = (req: FastifyRequest, reply: FastifyReply, err: unknown) => {
    if (err instanceof AuthorizePageError) return portal.render(reply, portal.ctx(req, 'This request cannot continue'), errorPage(err.message), 400);
    if (err instanceof ApiError) return portal.render(reply, portal.ctx(req, 'This request cannot continue'), errorPage(err.message), err.status);
    throw err;
  };
  const form = (req: FastifyRequest, reply: FastifyReply, base: ClientAndRedirect, context: string, values: FlowBody, failure?: FormFailure) => portal.render(reply, portal.ctx(req, flow.title), html`<div class="card"><h1>${flow.title}</h1>${failureBox(failure)}
<p><b>${base.client.name}</b> sent you here; you go back to it afterwards.</p>
<form method="post" action="${scope.prefix(req)}${flow.path}">${csrfField(req.csrfToken!)}
<input type="hidden" name="client_id" value="${base.client.id}"><input type="hidden" name="redirect_uri" value="${base.redirectUri}">${base.state !== undefined ? html`<input type="hidden" name="state" value="${base.state}">` : ''}
${values.organization_id !== undefined ? html`<input type="hidden" name="organization_id" value="${values.organization_id}">` : ''}
${flow.fields(failure, values, context)}
<button type="submit" name="action" value="submit">${flow.submitLabel}</button>
<button type="submit" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button></form>
<p class="muted">${flow.note}</p></div>`, failure?.status ?? 200);

  r.get(path, { schema: { querystring: Query } }, async (req, reply) => {
    try {
      const base = await client(req, req.query);
      if (!req.user) return reply.redirect(`${scope.prefix(req)}/login?next=${encodeURIComponent(req.url)}`, 303);
      const context = flow.guard ? await flow.guard(req, req.query) : '';
      return form(req, reply, base, context, { organization_id: req.query.organization_id });
    } catch (err) {
      return errorOf(req, reply, err);
    }
  });

  r.post(path, { attachValidation: true, schema: { body: Body } }, async (req, reply) => {
    let base: ClientAndRedirect;
    let context = '';
    try {
      base = await client(req, req.body ?? {});
      if (!req.user) return reply.redirect(`${scope.prefix(req)}/login`, 303);
      if (flow.guard) context = await flow.guard(req, req.body ?? {});
    } catch (err) {
      return errorOf(req, reply, err);
    }
    const back = (result: string) => reply.redirect(redirectTo(base.redirectUri, issuer, { result, state: base.state }), 303);
    if (!req.validationError && req.body.action === 'cancel') return back('cancelled');
    return attempt(req, reply, async () => back(await flow.submit(req, req.body)), (failure) => form(req, reply, base, context, (req.body ?? {}) as FlowBody, failure));
  });
}

/** Both flows, under Tessera's /oauth/platform/ or a platform's /:platform/oauth/platform/. */
export async function redirectFlowRoutes(app: FastifyInstance, services: Services, portal: Portal, routePrefix: string, scope: FlowScope): Promise<void> {
  const current = (failure?: FormFailure) => field({ name: 'current_password', label: 'Current password', type: 'password', maxLength: PASSWORD_MAX, autocomplete: 'current-password' }, failure);
  await flowRoutes(app, services, portal, scope, routePrefix, {
    path: '/oauth/platform/password', title: 'Change your password', submitLabel: 'Change password',
    note: 'Every other session of your account ends when the password changes.',
    fields: (failure) => html`${current(failure)}
${field({ name: 'new_password', label: 'New password', type: 'password', minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX, autocomplete: 'new-password', hint: `At least ${PASSWORD_MIN} characters, and not easy to guess.` }, failure)}`,
    submit: async (req, body) => {
      await services.accounts.changePassword(req.user!.id, body.current_password ?? '', body.new_password ?? '', req.cookies[SESSION_COOKIE], clientOf(req));
      return 'changed';
    },
  });
  await flowRoutes(app, services, portal, scope, routePrefix, {
    path: '/oauth/platform/email', title: 'Change your e-mail address', submitLabel: 'Send the confirmation link',
    note: 'The new address takes effect when you follow the link we send to it; your current address is told.',
    fields: (failure) => html`${current(failure)}
${field({ name: 'new_email', label: 'New e-mail address', type: 'email', maxLength: EMAIL_MAX, autocomplete: 'email' }, failure)}`,
    submit: async (req, body) => {
      await services.accounts.checkOwnPassword(req.user!.id, body.current_password ?? '', 'current_password');
      await services.emailLinks.requestEmailChange(req.user!, body.new_email ?? '');
      return 'requested';
    },
  });
  await flowRoutes(app, services, portal, scope, routePrefix, {
    path: '/oauth/platform/means_of_payment', title: 'Means of payment', submitLabel: 'Save means of payment',
    note: 'Card payments are not taken here. The IBAN is stored encrypted and only ever shown masked.',
    guard: async (req, params) => {
      const orgId = params.organization_id ?? '';
      if (!/^[0-9a-f-]{36}$/.test(orgId)) throw new ApiError('validation_failed', 'The request does not name the organisation (organization_id).');
      return (await services.meansOfPayment.authorize(await portal.actor(req), orgId)).name;
    },
    fields: (failure, v, orgName) => {
      const text = (name: keyof PaymentInput, label: string, max: number, extra: { placeholder?: string; autocomplete?: string; hint?: string } = {}) =>
        field({ name, label, value: v[name], maxLength: max, ...extra }, failure);
      return html`<p>For <b>${orgName}</b>.</p>
<label class="check"><input type="radio" name="kind" value="sepa_debit" ${v.kind !== 'invoice' ? 'checked' : ''}> SEPA direct debit</label>
<label class="check"><input type="radio" name="kind" value="invoice" ${v.kind === 'invoice' ? 'checked' : ''}> Invoice</label>${fieldError('kind', failure)}
<fieldset><legend>SEPA direct debit</legend>
${text('holder', 'Account holder', 140, { autocomplete: 'name' })}${text('iban', 'IBAN', 200, { placeholder: 'DE89 3704 0044 0532 0130 00' })}${text('bic', 'BIC', 200, { placeholder: 'COBADEFFXXX' })}
<p class="muted">Saving gives a mandate reference and date: the mandate authorises debits from this account.</p></fieldset>
<fieldset><legend>Invoice</legend>
${text('billing_name', 'Billing name', 140)}${text('billing_street', 'Street and number', 140, { autocomplete: 'street-address' })}${text('billing_postal_code', 'Postal code', 20, { autocomplete: 'postal-code' })}
${text('billing_city', 'City', 100)}${text('billing_country', 'Country code', 2, { placeholder: 'DE' })}${text('vat_id', 'VAT ID (optional)', 20, { placeholder: 'DE123456789' })}</fieldset>`;
    },
    submit: async (req, body) => {
      await services.meansOfPayment.set(await portal.actor(req), body.organization_id ?? '', body);
      return 'saved';
    },
  });
}
