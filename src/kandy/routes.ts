// The Kandy-compatible surface under /v1.2 (the seed's curl commands work with only the host
// changed) and, beside it, the native REST API under /api/v1. Routes translate HTTP only; the
// rules live in DomainsService. Each surface has its own error serializer in its own scope.
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../services.js';
import { Envelope, failures, kandyErrorHandler, ok, tokenOf } from './envelope.js';
import { nativeRoutes } from './native-routes.js';
import type { DomainUser } from './queries.js';
import { ApiError } from '../lib/errors.js';

const Key = Type.Optional(Type.String({ maxLength: 200 }));
const Str = (max: number) => Type.String({ maxLength: max });
const expiresIn = (expiresAt: number, now: number) => Math.max(0, Math.round((expiresAt - now) / 1000));

const KandyUser = Type.Object({
  user_id: Type.String(), full_user_id: Type.String(), domain_name: Type.String(), user_country_code: Type.String(),
  user_first_name: Type.Union([Type.String(), Type.Null()]), user_last_name: Type.Union([Type.String(), Type.Null()]),
  user_email: Type.Union([Type.String(), Type.Null()]), user_api_key: Type.String(), created_at: Type.Integer(),
});
const KandyDomain = Type.Object({
  domain_name: Type.String(), project_name: Type.String(), domain_api_key: Type.String(), users: Type.Integer(), created_at: Type.Integer(),
});

/** Listings never carry secrets (a documented deviation: Kandy repeated password and secret here). */
export const kandyUser = (u: DomainUser, domainName: string) => ({
  user_id: u.user_id, full_user_id: `${u.user_id}@${domainName}`, domain_name: domainName, user_country_code: u.country_code,
  user_first_name: u.first_name, user_last_name: u.last_name, user_email: u.email, user_api_key: u.api_key, created_at: u.created_at,
});

export async function kandyRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const domains = services.domains;
  const now = () => services.deps.clock.now();

  await app.register(async (scope) => {
    const r = scope.withTypeProvider<TypeBoxTypeProvider>();
    r.setErrorHandler(kandyErrorHandler);
    r.setNotFoundHandler((req, reply) => kandyErrorHandler(new ApiError('not_found', `No route for ${req.method} ${req.url.split('?')[0]}`), req, reply));
    // Answers carry credentials; nothing may cache them.
    r.addHook('onSend', async (_req, reply) => { void reply.header('cache-control', 'no-store'); });

    r.get('/accounts/accesstokens', {
      schema: {
        querystring: Type.Object({ key: Key, account_api_secret: Type.Optional(Str(200)) }),
        response: { 200: Envelope(Type.Object({ account_access_token: Type.String(), expires_in: Type.Integer() })), ...failures },
      },
    }, async (req) => {
      const t = await domains.accountToken(req.query.key, req.query.account_api_secret);
      return ok({ account_access_token: t.token, expires_in: expiresIn(t.expiresAt, now()) });
    });

    r.get('/domains/accesstokens', {
      schema: {
        querystring: Type.Object({ key: Key, domain_api_secret: Type.Optional(Str(200)) }),
        response: { 200: Envelope(Type.Object({ domain_access_token: Type.String(), expires_in: Type.Integer() })), ...failures },
      },
    }, async (req) => {
      const t = await domains.domainToken(req.query.key, req.query.domain_api_secret);
      return ok({ domain_access_token: t.token, expires_in: expiresIn(t.expiresAt, now()) });
    });

    r.post('/domains/users/user_id', {
      schema: {
        querystring: Type.Object({ key: Key }),
        body: Type.Object({
          user_id: Str(200), user_country_code: Str(20),
          user_first_name: Type.Optional(Str(200)), user_last_name: Type.Optional(Str(200)),
          user_email: Type.Optional(Str(300)), user_password: Type.Optional(Str(200)),
        }),
        response: {
          200: Envelope(Type.Object({
            user_id: Type.String(), user_password: Type.String(), full_user_id: Type.String(), domain_name: Type.String(),
            user_api_key: Type.String(), user_api_secret: Type.String(),
          })),
          ...failures,
        },
      },
    }, async (req) => {
      const ctx = await domains.authenticateDomain(tokenOf(req, req.query.key));
      return ok(await domains.createUser(ctx, req.body));
    });

    r.get('/domains/users', {
      schema: { querystring: Type.Object({ key: Key }), response: { 200: Envelope(Type.Object({ users: Type.Array(KandyUser) })), ...failures } },
    }, async (req) => {
      const ctx = await domains.authenticateDomain(tokenOf(req, req.query.key));
      const users = await domains.listUsers(ctx);
      return ok({ users: users.map((u) => kandyUser(u, ctx.domainName)) });
    });

    r.delete('/domains/users', {
      schema: { querystring: Type.Object({ key: Key, user_id: Type.Optional(Str(200)) }), response: { 200: Envelope(Type.Null()), ...failures } },
    }, async (req) => {
      const ctx = await domains.authenticateDomain(tokenOf(req, req.query.key));
      await domains.deleteUser(ctx, req.query.user_id);
      return ok(null, 'User Deleted');
    });

    r.get('/domains/users/accesstokens', {
      schema: {
        // key=<project API key>&domain_api_secret=…&user_id=…, or key=<user API key>&user_api_secret=…
        querystring: Type.Object({ key: Key, domain_api_secret: Type.Optional(Str(200)), user_id: Type.Optional(Str(200)), user_api_secret: Type.Optional(Str(200)) }),
        response: { 200: Envelope(Type.Object({ user_access_token: Type.String(), full_user_id: Type.String(), expires_in: Type.Integer() })), ...failures },
      },
    }, async (req) => {
      const t = await domains.userToken(req.query);
      return ok({ user_access_token: t.token, full_user_id: t.full_user_id, expires_in: expiresIn(t.expiresAt, now()) });
    });

    // ---- account level: domains ----

    r.post('/accounts/domains', {
      schema: {
        querystring: Type.Object({ key: Key }),
        body: Type.Object({ domain_name: Str(300), project_name: Type.Optional(Str(200)) }),
        response: {
          200: Envelope(Type.Object({ domain_name: Type.String(), project_name: Type.String(), domain_api_key: Type.String(), domain_api_secret: Type.String() })),
          ...failures,
        },
      },
    }, async (req) => {
      const ctx = await domains.authenticateAccount(tokenOf(req, req.query.key));
      const { domain, apiSecret } = await domains.createDomain(ctx, req.body);
      return ok({ domain_name: domain.domain_name, project_name: domain.project_name, domain_api_key: domain.api_key, domain_api_secret: apiSecret });
    });

    r.get('/accounts/domains', {
      schema: { querystring: Type.Object({ key: Key }), response: { 200: Envelope(Type.Object({ domains: Type.Array(KandyDomain) })), ...failures } },
    }, async (req) => {
      const ctx = await domains.authenticateAccount(tokenOf(req, req.query.key));
      const list = await domains.listDomains(ctx);
      return ok({ domains: list.map((d) => ({ domain_name: d.domain_name, project_name: d.project_name, domain_api_key: d.api_key, users: d.users, created_at: d.created_at })) });
    });

    r.delete('/accounts/domains', {
      schema: { querystring: Type.Object({ key: Key, domain_name: Type.Optional(Str(300)) }), response: { 200: Envelope(Type.Null()), ...failures } },
    }, async (req) => {
      const ctx = await domains.authenticateAccount(tokenOf(req, req.query.key));
      await domains.deleteDomainByName(ctx, req.query.domain_name);
      return ok(null, 'Domain Deleted');
    });
  }, { prefix: '/v1.2' });

  await app.register(async (scope) => nativeRoutes(scope, services), { prefix: '/api/v1' });
}
