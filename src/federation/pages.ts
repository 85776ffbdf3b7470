// The pages of federated sign-in: the buttons' target (POST /login/{id}, and /{platform}/login/{id}
// on a platform's pages), the one callback every provider sends the person back to
// (GET /login/{id}/callback), and what the account page does with identities (link, unlink).
// After the round trip the person goes on where they were: a consent, a redirect URI, a page.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html, type SafeHtml } from '../lib/html.js';
import type { ApiError } from '../lib/errors.js';
import { csrfField, table, atMinute } from '../portal/views/layout.js';
import { attempt, type FormFailure } from '../portal/forms.js';
import { CsrfOnly, safeNext, type Portal } from '../portal/session.js';
import { clientOf } from '../http/client.js';
import { themeOf } from '../platforms/theme.js';
import { FEDERATED_LOGIN_TTL_MS, FederatedLoginError, type CallbackOutcome, type PendingLink } from './federation.service.js';

/** The identity waiting for the owner of its e-mail's account to log in (login-steps.ts takes it). */
export const PENDING_LINK_COOKIE = 'tessera_link';

const ProviderParam = { type: 'object', properties: { provider: { type: 'string', maxLength: 32 } }, required: ['provider'] } as const;
const StartBody = { type: 'object', properties: { _csrf: { type: 'string' }, next: { type: 'string', maxLength: 2000 } }, required: ['_csrf'] } as const;

/**
 * POST {prefix}/login/{id}: sends the person to the provider. `nextOf` keeps a platform's
 * sign-in on the platform's pages; `platform` names it, so the callback's pages wear its look.
 */
export function federatedStartRoute(app: FastifyInstance, portal: Portal, routePrefix: string, nextOf: (req: FastifyRequest, next: unknown) => string, platformOf: (req: FastifyRequest) => string | undefined): void {
  app.withTypeProvider<JsonSchemaToTsProvider>().post(`${routePrefix}/login/:provider`, {
    schema: { params: { type: 'object', properties: { ...ProviderParam.properties, platform: { type: 'string', maxLength: 40 } }, required: ['provider'] }, body: StartBody },
  }, async (req, reply) => {
    const platform = platformOf(req);
    try {
      const url = await portal.services.federation.start({
        providerId: req.params.provider, binding: req.binding!, next: nextOf(req, req.body.next), platform, client: clientOf(req),
      });
      return reply.redirect(url, 303);
    } catch (err) {
      if (err instanceof FederatedLoginError) return failurePage(portal, req, reply, err, platform ? `/${platform}` : '', err.next);
      throw err;
    }
  });
}

/** A failed sign-in's page; "Back to log in" keeps where the sign-in was going (a consent, say). */
async function failurePage(portal: Portal, req: FastifyRequest, reply: FastifyReply, err: ApiError, prefix: string, next?: string): Promise<FastifyReply> {
  if (err.retryAfter) void reply.header('retry-after', String(err.retryAfter));
  const back = `${prefix}/login${next && next !== '/dashboard' ? `?next=${encodeURIComponent(next)}` : ''}`;
  return portal.render(reply, portal.ctx(req, 'Sign-in failed'), html`<div class="card"><h1>Sign-in failed</h1><p class="error" role="alert">${err.message}</p>
<p><a class="button" href="${back}">Back to log in</a></p></div>`, err.status);
}

export async function federationPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const s = portal.services;

  federatedStartRoute(app, portal, '', (_req, next) => safeNext(next), () => undefined);

  r.get('/login/:provider/callback', { schema: { params: ProviderParam } }, async (req, reply) => {
    const params = new URL(req.url, 'http://callback').searchParams;
    let outcome: CallbackOutcome;
    try {
      outcome = await s.federation.callback({ providerId: req.params.provider, params, binding: req.binding!, client: clientOf(req) });
    } catch (err) {
      if (!(err instanceof FederatedLoginError)) throw err;
      const prefix = await dress(req, err.platform);
      return failurePage(portal, req, reply, err, prefix, err.next);
    }
    const prefix = await dress(req, outcome.platform);
    switch (outcome.kind) {
      case 'linked':
        return portal.done(req, reply, '/account#sign-in-methods', { notice: `${outcome.label} is linked: you can sign in with it from now on.` });
      case 'confirm-link': {
        portal.sealCookie(req, reply, PENDING_LINK_COOKIE, outcome.pending, FEDERATED_LOGIN_TTL_MS);
        const q = new URLSearchParams({ next: outcome.next, login_hint: outcome.pending.email });
        return portal.done(req, reply, `${prefix}/login?${q.toString()}`, {
          notice: `An account with ${outcome.pending.email} already exists. Log in to it with its password to link ${outcome.label}; from then on either way signs you in.`,
        });
      }
      case 'signed-in': {
        // Enrolled TOTP is asked for unless the provider asserted multi-factor authentication.
        if (!outcome.providerMfa && await s.twoFactor.enabled(outcome.user.id)) {
          portal.holdLogin(req, reply, outcome.user.id, outcome.next);
          return portal.done(req, reply, `${prefix}/login/code`);
        }
        await portal.startSession(req, reply, outcome.user.id, outcome.providerMfa);
        if (outcome.created && outcome.user.email_verified_at === null) await s.emailLinks.welcome(outcome.user);
        return portal.done(req, reply, outcome.next, outcome.created
          ? { notice: `Welcome to Tessera, ${outcome.user.name}. Your account is ready; you sign in with ${outcome.label}.` }
          : undefined);
      }
    }
  });

  /** A sign-in that began on a platform's pages comes back in its look; its pages' prefix. */
  async function dress(req: FastifyRequest, platform: string | undefined): Promise<string> {
    if (!platform) return '';
    const p = await s.platforms.byName(platform);
    if (!p) return '';
    req.theme = themeOf(p, req.url);
    return `/${p.name}`;
  }
}

/** The account page's buttons: link another provider's account, unlink one. `show` is the account page, with a failure. */
export async function identityAccountRoutes(app: FastifyInstance, portal: Portal, show: (req: FastifyRequest, reply: FastifyReply, failure: FormFailure) => unknown): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const s = portal.services;

  r.post('/account/identities/link/:provider', { attachValidation: true, schema: { params: ProviderParam, body: CsrfOnly } }, async (req, reply) => attempt(req, reply, async () => {
    const url = await s.federation.start({ providerId: req.params.provider, binding: req.binding!, next: '/account', linkUserId: req.user!.id, client: clientOf(req) });
    return reply.redirect(url, 303);
  }, (failure) => show(req, reply, failure)));

  r.post('/account/identities/:id/unlink', { attachValidation: true, schema: { params: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] }, body: CsrfOnly } }, async (req, reply) => attempt(req, reply, async () => {
    const gone = await s.federation.unlink(req.user!.id, req.params.id, clientOf(req));
    return portal.done(req, reply, '/account#sign-in-methods', { notice: `${gone.label} is unlinked: it no longer signs you in.` });
  }, (failure) => show(req, reply, failure)));
}

/** The account page's card: the linked identities, and a button per provider not linked yet. */
export async function signInMethodsCard(portal: Portal, req: FastifyRequest): Promise<SafeHtml> {
  const s = portal.services;
  const [identities, hasPassword] = await Promise.all([s.federation.identities(req.user!.id), s.accounts.hasPassword(req.user!.id)]);
  const providers = s.federation.list();
  if (!providers.length && !identities.length) return html``;
  const linked = new Set(identities.map((i) => i.providerId));
  const csrf = csrfField(req.csrfToken!);
  return html`<div class="card" id="sign-in-methods"><h2 style="margin-top:0">Sign-in methods</h2>
<p>Password: ${hasPassword ? html`<span class="tag ok">set</span>` : html`<span class="tag warn">none</span> You sign in through a provider below. To have a password too, use the link below to set one.`}</p>
${identities.length ? table(html`<tr><th>Provider</th><th>Account</th><th>Linked</th><th>Last sign-in</th><th></th></tr>
${identities.map((i) => html`<tr><td>${i.label}</td><td>${i.email ?? ''}</td><td class="muted">${atMinute(i.createdAt)}</td><td class="muted">${i.lastLoginAt ? atMinute(i.lastLoginAt) : ''}</td>
<td><form method="post" action="/account/identities/${i.id}/unlink" class="inline">${csrf}<button class="secondary" type="submit">Unlink</button></form></td></tr>`)}`)
    : html`<p class="muted">No provider is linked: you sign in with your e-mail and password.</p>`}
${providers.filter((p) => !linked.has(p.id)).map((p) => html`<form method="post" action="/account/identities/link/${p.id}" class="inline">${csrf}<button class="secondary" type="submit">Link ${p.label}</button></form>`)}
${hasPassword ? '' : html`<form method="post" action="/account/password/link">${csrf}<button class="secondary" type="submit">E-mail me a link to set a password</button></form>`}</div>`;
}


/**
 * After a right password (and code): an identity waiting for this account's owner is linked.
 * Read before the session starts, while the cookie's binding is still the browser's anonymous one.
 */
export function takePendingLink(portal: Portal, req: FastifyRequest, reply: FastifyReply): ((userId: string) => Promise<string | undefined>) {
  const pending = portal.openCookie<PendingLink>(req, PENDING_LINK_COOKIE);
  if (!pending) return async () => undefined;
  portal.clearCookie(reply, PENDING_LINK_COOKIE);
  return async (userId) => {
    const label = portal.services.federation.labelOf(pending.identity.providerId);
    return (await portal.services.federation.completeLink(userId, pending, clientOf(req)))
      ? `${label} is linked to your account: you can sign in with it from now on.`
      : undefined;
  };
}
