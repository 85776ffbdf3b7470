// A platform's white-label pages and endpoints under /{platform}/ (the Zaikio seed): the
// authorization-code flow with log-in, sign-up, consent and error pages in the platform's look,
// every link staying under /{platform}/; its logo; and the token, revocation and introspection
// endpoints. Signing up through a request for `directory.platform_membership` makes the new
// person a member in the account's own transaction, and the flow goes on to the redirect URI.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import cookie from '@fastify/cookie';
import type { Kysely } from 'kysely';
import type { Services } from '../services.js';
import type { Database, JoinedVia } from '../db/schema.js';
import { html } from '../lib/html.js';
import { ApiError } from '../lib/errors.js';
import { servePortalPages, safeNext, type Portal } from '../portal/session.js';
import { clientOf } from '../http/client.js';
import { attempt } from '../portal/forms.js';
import { loginForm, signupForm } from '../portal/views/auth-forms.js';
import { afterPassword, CodeBody, showCodeStep, submitCode } from '../portal/login-steps.js';
import { redirectFlowRoutes } from '../identity/redirect-flows.js';
import { errorPage, scopeList } from '../oauth/views.js';
import { authorizeEndpoint } from '../oauth/endpoints/authorize.js';
import { orgNames } from '../oauth/queries.js';
import { oauthErrorHandler } from '../oauth/errors.js';
import { tokenEndpoint } from '../oauth/endpoints/token.js';
import { revokeEndpoint } from '../oauth/endpoints/revoke.js';
import { introspectEndpoint } from '../oauth/endpoints/introspect.js';
import type { WhiteLabel } from '../oauth/oauth.service.js';
import { DIRECTORY_APP, type ParsedScope } from '../oauth/scopes.js';
import { EMAIL_MAX, NAME_MAX, PASSWORD_MAX } from '../accounts/accounts.service.js';
import { PLATFORM_NAME } from './names.js';
import type { Platform } from './platforms.service.js';
import { findMember } from './queries.js';
import { themeOf } from './theme.js';
import { federatedStartRoute } from '../federation/pages.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The platform of a /{platform}/ request, resolved before anything else runs. */
    whiteLabel?: Platform;
  }
}

const PlatformParam = { type: 'object', properties: { platform: { type: 'string', maxLength: 40 } }, required: ['platform'] } as const;
const Next = { type: 'string', maxLength: 2000 } as const;

const isMembership = (s: ParsedScope): boolean => s.base.startsWith(`${DIRECTORY_APP}.platform_membership.`);

/** Who a membership scope makes a member: the person (no prefix, `Per`) or the organisation it names. */
const membersOf = (scopes: ParsedScope[], userId: string): { type: 'Person' | 'Organization'; id: string }[] =>
  scopes.filter(isMembership).map((s) => (s.bearer?.type === 'Org' && s.bearer.id ? { type: 'Organization' as const, id: s.bearer.id } : { type: 'Person' as const, id: userId }));

export async function whiteLabelRoutes(app: FastifyInstance, services: Services, portal: Portal): Promise<void> {
  const { oauth, platforms, memberships, deps } = services;

  /**
   * The OAuth service's view of the platform: membership written with the consent. A person who
   * agreed by signing up on the platform's form joined by `signup`; everyone else by `consent`.
   */
  const whiteLabel = (p: Platform, personVia: JoinedVia = 'consent'): WhiteLabel => ({
    name: p.name,
    orgId: p.org_id,
    join: async (trx: Kysely<Database>, scopes, userId) => {
      for (const m of membersOf(scopes, userId)) await memberships.join(trx, p, m.type, m.id, m.type === 'Person' ? personVia : 'consent', userId);
    },
    holds: async (scopes, userId) => {
      for (const m of membersOf(scopes, userId)) if (!(await findMember(deps.db, p.id, m.type, m.id))) return false;
      return true;
    },
  });

  /** Resolves /{platform}: an unknown one is a 404 in the surface's own shape. */
  const resolve = async (req: FastifyRequest) => {
    const name = (req.params as { platform?: string }).platform ?? '';
    const p = PLATFORM_NAME.test(name) ? await platforms.byName(name) : undefined;
    if (!p) throw new ApiError('not_found', 'There is no platform at this address.');
    req.whiteLabel = p;
    req.theme = themeOf(p, req.url);
  };

  // ---- the pages: session, CSRF, errors in the platform's look ----
  await app.register(async (ui) => {
    await ui.register(cookie);
    ui.addHook('onRequest', resolve);
    servePortalPages(ui, portal, { title: 'Sign-in error', logMessage: 'white-label page error', body: (message) => errorPage(message) });
    const r = ui.withTypeProvider<JsonSchemaToTsProvider>();

    await authorizeEndpoint(ui, services, portal, {
      routePrefix: '/:platform', pagePrefix: (req) => `/${req.whiteLabel!.name}`, whiteLabel: (req) => whiteLabel(req.whiteLabel!),
    });

    /** Only this platform's own pages are followed after log-in; anything else starts its sign-in over. */
    const nextOf = (req: FastifyRequest, next: unknown): string => {
      const prefix = `/${req.whiteLabel!.name}/`;
      const safe = safeNext(next);
      return safe.startsWith(prefix) ? safe : `${prefix}oauth/authorize`;
    };

    /** What the pending request will give the application, shown above the form. */
    const intro = async (req: FastifyRequest, next: unknown, joining: boolean) => {
      const pending = await oauth.pendingRequest(typeof next === 'string' ? next : undefined, whiteLabel(req.whiteLabel!));
      if (!pending) return undefined;
      const names = await orgNames(deps.db, pending.scopes.flatMap((s) => (s.bearer?.type === 'Org' && s.bearer.id ? [s.bearer.id] : [])));
      return {
        pending,
        html: html`<p>${joining ? 'Create your account to continue to' : 'Log in to continue to'} <b>${pending.client.name}</b>${joining ? html`, which will be able to:` : '.'}</p>${joining ? scopeList(pending, names) : ''}`,
      };
    };

    const signupPage = async (req: FastifyRequest, reply: FastifyReply, v: { next?: unknown; email?: unknown; name?: unknown }, failure?: Parameters<typeof signupForm>[2]) => {
      const about = await intro(req, v.next, true);
      return portal.render(reply, portal.ctx(req, `Sign up · ${req.whiteLabel!.display_name}`), signupForm(req.csrfToken!, v, failure, {
        prefix: `/${req.whiteLabel!.name}`, providers: services.federation.list(), ...(about ? { intro: about.html } : {}), signupLabel: about ? 'Create account and continue' : 'Create account',
      }), failure?.status ?? 200);
    };
    const loginPage = async (req: FastifyRequest, reply: FastifyReply, v: { next?: unknown; email?: unknown }, failure?: Parameters<typeof loginForm>[2]) => {
      const about = await intro(req, v.next, false);
      return portal.render(reply, portal.ctx(req, `Log in · ${req.whiteLabel!.display_name}`), loginForm(req.csrfToken!, v, failure, {
        prefix: `/${req.whiteLabel!.name}`, providers: services.federation.list(), ...(about ? { intro: about.html } : {}),
      }), failure?.status ?? 200);
    };

    r.get('/:platform/signup', { schema: { params: PlatformParam, querystring: { type: 'object', properties: { next: Next, email: { type: 'string', maxLength: EMAIL_MAX } } } } },
      async (req, reply) => signupPage(req, reply, { next: req.query.next, email: req.query.email }));

    r.post('/:platform/signup', {
      attachValidation: true,
      schema: {
        params: PlatformParam,
        body: { type: 'object', properties: { _csrf: { type: 'string' }, name: { type: 'string', maxLength: NAME_MAX }, email: { type: 'string', maxLength: EMAIL_MAX }, password: { type: 'string', maxLength: PASSWORD_MAX }, next: Next }, required: ['_csrf', 'name', 'email', 'password'] },
      },
    }, async (req, reply) => attempt(req, reply, async () => {
      const wl = whiteLabel(req.whiteLabel!, 'signup');
      const pending = await oauth.pendingRequest(req.body.next, wl);
      // The form showed what the application gets: signing up agrees to it. The account, the
      // consent and the platform membership are one transaction; then the flow goes on.
      const user = await services.accounts.signup(req.body, async (trx, u) => {
        if (pending) await oauth.consent(trx, pending, u.id, wl);
      });
      await portal.startSession(req, reply, user.id);
      await services.emailLinks.welcome(user);
      return portal.done(req, reply, nextOf(req, req.body.next));
    }, (failure) => signupPage(req, reply, req.body ?? {}, failure)));

    r.get('/:platform/login', { schema: { params: PlatformParam, querystring: { type: 'object', properties: { next: Next, login_hint: { type: 'string', maxLength: EMAIL_MAX } } } } },
      async (req, reply) => loginPage(req, reply, { next: req.query.next, email: req.query.login_hint }));

    r.post('/:platform/login', {
      attachValidation: true,
      schema: { params: PlatformParam, body: { type: 'object', properties: { _csrf: { type: 'string' }, email: { type: 'string', maxLength: EMAIL_MAX }, password: { type: 'string', maxLength: PASSWORD_MAX }, next: Next }, required: ['_csrf', 'email', 'password'] } },
    }, async (req, reply) => attempt(req, reply, async () => {
      const user = await services.accounts.authenticate(req.body.email, req.body.password, clientOf(req));
      return afterPassword(portal, req, reply, user.id, nextOf(req, req.body.next), `/${req.whiteLabel!.name}`);
    }, (failure) => loginPage(req, reply, req.body ?? {}, failure)));

    federatedStartRoute(ui, portal, '/:platform', nextOf, (req) => req.whiteLabel!.name);

    await redirectFlowRoutes(ui, services, portal, '/:platform', {
      prefix: (req) => `/${req.whiteLabel!.name}`, orgId: (req) => req.whiteLabel!.org_id,
    });

    r.get('/:platform/login/code', { schema: { params: PlatformParam } }, async (req, reply) => showCodeStep(portal, req, reply, `/${req.whiteLabel!.name}`));
    r.post('/:platform/login/code', { attachValidation: true, schema: { params: PlatformParam, body: CodeBody } }, async (req, reply) => attempt(req, reply,
      () => submitCode(portal, req, reply, req.body.code, `/${req.whiteLabel!.name}`), (failure) => showCodeStep(portal, req, reply, `/${req.whiteLabel!.name}`, failure)));

    r.post('/:platform/logout', { schema: { params: PlatformParam, body: { type: 'object', properties: { _csrf: { type: 'string' }, next: Next }, required: ['_csrf'] } } }, async (req, reply) => {
      await portal.endSession(req, reply);
      return reply.redirect(`/${req.whiteLabel!.name}/login?next=${encodeURIComponent(nextOf(req, req.body.next))}`, 303);
    });
  });

  // ---- the logo: public, cacheable, no session ----
  app.withTypeProvider<JsonSchemaToTsProvider>().get('/:platform/logo', { schema: { params: PlatformParam } }, async (req, reply) => {
    const logo = await platforms.logo(req.params.platform);
    if (!logo) throw new ApiError('not_found', 'This platform has no uploaded logo.');
    return reply.type(logo.type).header('cache-control', 'public, max-age=86400').header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox").send(logo.bytes);
  });

  // ---- the client endpoints under /{platform}/oauth/… (RFC 6749 errors) ----
  await app.register(async (api) => {
    api.setErrorHandler(oauthErrorHandler);
    api.addHook('onRequest', resolve);
    await tokenEndpoint(api, services);
    await revokeEndpoint(api, services);
    await introspectEndpoint(api, services);
  }, { prefix: '/:platform' });
}
