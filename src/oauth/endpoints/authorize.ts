// GET /oauth/authorize and POST /oauth/consent (and a platform's /{platform}/oauth/…): the interactive part, in the portal's session and
// CSRF scope (portal/session.ts sets the anti-framing headers on every page).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { Services } from '../../services.js';
import { SESSION_COOKIE, type Portal } from '../../portal/session.js';
import { AuthorizePageError, AUTHORIZATION_PARAMS } from '../authorize.js';
import { consentPage, errorPage } from '../views.js';
import { orgNames } from '../queries.js';
import type { WhiteLabel } from '../oauth.service.js';

// Every parameter may come as anything: repeated ones are reported to the client by the
// validation in authorize.ts (RFC 6749 §3.1), which can only happen once the redirect URI is known.
// The empty schema accepts any value; none is required. (Object.fromEntries forgets the keys, so
// the assertion gives them back for the request's type.)
const ANY_VALUE = {} as const;
const Params = {
  type: 'object',
  properties: Object.fromEntries(AUTHORIZATION_PARAMS.map((p) => [p, ANY_VALUE])) as Record<(typeof AUTHORIZATION_PARAMS)[number], typeof ANY_VALUE>,
} as const;

/** What the authorization endpoint answers a browser (documented in the OpenAPI document). */
const HTML = { 'text/html': { schema: { type: 'string' } } } as const;
const AUTHORIZE_ANSWERS = {
  200: { description: 'The consent page', content: HTML },
  303: { description: 'To the log-in (or sign-up) page, or to the redirect URI with `code` and `state` — or `error` once the client and redirect URI are established (RFC 6749 §4.1.2)', type: 'null' },
  400: { description: 'An error page, never a redirect, while the client or redirect URI is not established (RFC 6749 §4.1.2.1)', content: HTML },
} as const;

/**
 * Where the two routes live: Tessera's own `/oauth/…`, or a platform's `/{platform}/oauth/…`
 * (platforms/white-label.ts), whose pages post to their own prefix and whose consents write
 * memberships (`whiteLabel`).
 */
export interface AuthorizeScope {
  routePrefix: string;
  pagePrefix(req: FastifyRequest): string;
  whiteLabel(req: FastifyRequest): WhiteLabel | undefined;
}

const OWN: AuthorizeScope = { routePrefix: '', pagePrefix: () => '', whiteLabel: () => undefined };

export async function authorizeEndpoint(app: FastifyInstance, services: Services, portal: Portal, scope: AuthorizeScope = OWN): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const { oauth } = services;

  const showError = (req: FastifyRequest, reply: FastifyReply, err: unknown) => {
    if (err instanceof AuthorizePageError) return portal.render(reply, portal.ctx(req, 'Sign-in error'), errorPage(err.message), 400);
    throw err;
  };

  // Both routes check NUL characters in validateAuthorizationRequest, which can report them to
  // the client's redirect URI (RFC 6749 §4.1.2.1) once that is established; the global check
  // (http/nul.ts) could only show a page.
  r.get(`${scope.routePrefix}/oauth/authorize`, { schema: { querystring: Params, response: AUTHORIZE_ANSWERS }, config: { checksNulItself: true } }, async (req, reply) => {
    try {
      const outcome = await oauth.authorize(req.query, req.user, req.cookies[SESSION_COOKIE], scope.whiteLabel(req));
      if (outcome.kind === 'redirect') return reply.redirect(outcome.url, 303);
      const { request } = outcome;
      const targeted = request.scopes.flatMap((s) => (s.bearer?.type === 'Org' && s.bearer.id ? [s.bearer.id] : []));
      const names = await orgNames(services.deps.db, [request.client.orgId, ...targeted]);
      return portal.render(reply, portal.ctx(req, `Allow ${request.client.name}?`),
        consentPage(request, req.csrfToken!, req.user!, names.get(request.client.orgId) ?? '', names, scope.pagePrefix(req)));
    } catch (err) {
      return showError(req, reply, err);
    }
  });

  r.post(`${scope.routePrefix}/oauth/consent`, {
    schema: {
      body: {
        type: 'object',
        properties: { _csrf: { type: 'string' }, decision: { anyOf: [{ type: 'string', const: 'allow' }, { type: 'string', const: 'deny' }] }, ...Params.properties },
        required: ['_csrf', 'decision'],
      },
    },
    config: { checksNulItself: true },
  }, async (req, reply) => {
    try {
      const url = await oauth.decide(req.body, req.user, req.cookies[SESSION_COOKIE], req.body.decision === 'allow', scope.whiteLabel(req));
      return reply.redirect(url, 303);
    } catch (err) {
      return showError(req, reply, err);
    }
  });
}
