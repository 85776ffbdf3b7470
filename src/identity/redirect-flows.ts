// The redirect flows of the Zaikio seed that a platform's app sends a person through and gets
// them back from: changing the password (`/oauth/platform/password`, and under a platform's
// `/{platform}/oauth/platform/password` in its look). The client and its redirect URI are checked
// as for an authorization request (an unknown one is an error page, never a redirect); the person
// logs in first if needed; submitting or cancelling goes back to the redirect URI with
// `result=changed|cancelled`, the request's `state` and `iss` (docs/zaikio.md).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { Services } from '../services.js';
import { SESSION_COOKIE, type Portal } from '../portal/session.js';
import { attempt, failureBox, field, type FormFailure } from '../portal/forms.js';
import { csrfField } from '../portal/views/layout.js';
import { html } from '../lib/html.js';
import { AuthorizePageError, redirectTo, resolveClientAndRedirect, type ClientAndRedirect } from '../oauth/authorize.js';
import { errorPage } from '../oauth/views.js';
import { PASSWORD_MAX, PASSWORD_MIN } from '../accounts/accounts.service.js';

const Str = { type: 'string', maxLength: 2000 } as const;
const Query = { type: 'object', properties: { client_id: { type: 'string', maxLength: 100 }, redirect_uri: Str, state: { type: 'string', maxLength: 500 } } } as const;
const Body = {
  type: 'object',
  properties: {
    ...Query.properties, _csrf: { type: 'string' }, action: { type: 'string', enum: ['change', 'cancel'] },
    current_password: { type: 'string', maxLength: PASSWORD_MAX }, new_password: { type: 'string', maxLength: PASSWORD_MAX },
  },
  required: ['_csrf', 'action'],
} as const;

/** Where a platform's pages live (`/{name}`), and which organisation's apps may use them; '' and none for Tessera's own. */
export interface FlowScope { prefix(req: FastifyRequest): string; orgId(req: FastifyRequest): string | undefined }

export async function passwordFlowRoutes(app: FastifyInstance, services: Services, portal: Portal, path: string, scope: FlowScope): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const issuer = services.deps.config.publicUrl;

  const client = async (req: FastifyRequest, params: Record<string, unknown>): Promise<ClientAndRedirect> => {
    const orgId = scope.orgId(req);
    return resolveClientAndRedirect(services.deps, params, orgId ? { orgId } : undefined);
  };
  const errorOf = (req: FastifyRequest, reply: FastifyReply, err: unknown) => {
    if (err instanceof AuthorizePageError) return portal.render(reply, portal.ctx(req, 'This request cannot continue'), errorPage(err.message), 400);
    throw err;
  };
  const form = (req: FastifyRequest, reply: FastifyReply, base: ClientAndRedirect, failure?: FormFailure) => portal.render(reply, portal.ctx(req, 'Change your password'), html`<div class="card"><h1>Change your password</h1>${failureBox(failure)}
<p><b>${base.client.name}</b> sent you here; you go back to it afterwards.</p>
<form method="post" action="${scope.prefix(req)}/oauth/platform/password">${csrfField(req.csrfToken!)}
<input type="hidden" name="client_id" value="${base.client.id}"><input type="hidden" name="redirect_uri" value="${base.redirectUri}">${base.state !== undefined ? html`<input type="hidden" name="state" value="${base.state}">` : ''}
${field({ name: 'current_password', label: 'Current password', type: 'password', maxLength: PASSWORD_MAX, autocomplete: 'current-password' }, failure)}
${field({ name: 'new_password', label: 'New password', type: 'password', minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX, autocomplete: 'new-password', hint: `At least ${PASSWORD_MIN} characters, and not easy to guess.` }, failure)}
<button type="submit" name="action" value="change">Change password</button>
<button type="submit" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button></form>
<p class="muted">Every other session of your account ends when the password changes.</p></div>`, failure?.status ?? 200);

  r.get(path, { schema: { querystring: Query } }, async (req, reply) => {
    try {
      const base = await client(req, req.query);
      if (!req.user) return reply.redirect(`${scope.prefix(req)}/login?next=${encodeURIComponent(req.url)}`, 303);
      return form(req, reply, base);
    } catch (err) {
      return errorOf(req, reply, err);
    }
  });

  r.post(path, { attachValidation: true, schema: { body: Body } }, async (req, reply) => {
    let base: ClientAndRedirect;
    try {
      base = await client(req, req.body ?? {});
    } catch (err) {
      return errorOf(req, reply, err);
    }
    if (!req.user) return reply.redirect(`${scope.prefix(req)}/login`, 303);
    const back = (result: 'changed' | 'cancelled') => reply.redirect(redirectTo(base.redirectUri, issuer, { result, state: base.state }), 303);
    if (!req.validationError && req.body.action === 'cancel') return back('cancelled');
    return attempt(req, reply, async () => {
      await services.accounts.changePassword(req.user!.id, req.body.current_password ?? '', req.body.new_password ?? '', req.cookies[SESSION_COOKIE]);
      return back('changed');
    }, (failure) => form(req, reply, base, failure));
  });
}
