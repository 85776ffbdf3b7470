// The Kandy-compatible surface under /v1.2 (the seed's curl commands work with only the host
// changed) and, beside it, the native REST API under /api/v1. Routes translate HTTP only; the
// rules live in DomainsService. Each surface has its own error serializer in its own scope.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { Services } from '../services.js';
import { Envelope, failures, kandyErrorHandler, ok, tokenOf } from './envelope.js';
import { nativeRoutes } from './native-routes.js';
import type { DomainUser } from './queries.js';
import type { CreatedDomain, CreatedUser } from './domains.service.js';
import { clientOf } from '../http/client.js';

// The API key (or token) in the query string; never required, a Bearer header may carry it instead.
const Key = { type: 'string', maxLength: 200 } as const;
const KeyOnly = { type: 'object', properties: { key: Key } } as const;
const Str = (max: number) => ({ type: 'string', maxLength: max }) as const;
const expiresIn = (expiresAt: number, now: number) => Math.max(0, Math.round((expiresAt - now) / 1000));

const KandyUser = {
  type: 'object',
  properties: {
    user_id: { type: 'string' }, full_user_id: { type: 'string' }, domain_name: { type: 'string' }, user_country_code: { type: 'string' },
    user_first_name: { anyOf: [{ type: 'string' }, { type: 'null' }] }, user_last_name: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    user_email: { anyOf: [{ type: 'string' }, { type: 'null' }] }, user_api_key: { type: 'string' }, created_at: { type: 'integer' },
  },
  required: ['user_id', 'full_user_id', 'domain_name', 'user_country_code', 'user_first_name', 'user_last_name', 'user_email', 'user_api_key', 'created_at'],
} as const;
const KandyDomain = {
  type: 'object',
  properties: {
    domain_name: { type: 'string' }, project_name: { type: 'string' }, domain_api_key: { type: 'string' }, users: { type: 'integer' },
    created_at: { type: 'integer' },
  },
  required: ['domain_name', 'project_name', 'domain_api_key', 'users', 'created_at'],
} as const;

/** Listings never carry secrets (a documented deviation: Kandy repeated password and secret here). */
export const kandyUser = (u: DomainUser, domainName: string) => ({
  user_id: u.user_id, full_user_id: `${u.user_id}@${domainName}`, domain_name: domainName, user_country_code: u.country_code,
  user_first_name: u.first_name, user_last_name: u.last_name, user_email: u.email, user_api_key: u.api_key, created_at: u.created_at,
});

export async function kandyRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const domains = services.domains;
  const now = () => services.deps.clock.now();

  await app.register(async (scope) => {
    const r = scope.withTypeProvider<JsonSchemaToTsProvider>();
    r.setErrorHandler(kandyErrorHandler);
    // Answers carry credentials; nothing may cache them.
    r.addHook('onSend', async (_req, reply) => { void reply.header('cache-control', 'no-store'); });

    r.get('/accounts/accesstokens', {
      schema: {
        querystring: { type: 'object', properties: { key: Key, account_api_secret: Str(200) } },
        response: {
          200: Envelope({
            type: 'object',
            properties: { account_access_token: { type: 'string' }, expires_in: { type: 'integer' } },
            required: ['account_access_token', 'expires_in'],
          }),
          ...failures,
        },
      },
    }, async (req) => {
      const t = await domains.accountToken(req.query.key, req.query.account_api_secret, req.ip);
      return ok({ account_access_token: t.token, expires_in: expiresIn(t.expiresAt, now()) });
    });

    r.get('/domains/accesstokens', {
      schema: {
        querystring: { type: 'object', properties: { key: Key, domain_api_secret: Str(200) } },
        response: {
          200: Envelope({
            type: 'object',
            properties: { domain_access_token: { type: 'string' }, expires_in: { type: 'integer' } },
            required: ['domain_access_token', 'expires_in'],
          }),
          ...failures,
        },
      },
    }, async (req) => {
      const t = await domains.domainToken(req.query.key, req.query.domain_api_secret, req.ip);
      return ok({ domain_access_token: t.token, expires_in: expiresIn(t.expiresAt, now()) });
    });

    r.post('/domains/users/user_id', {
      schema: {
        querystring: KeyOnly,
        body: {
          type: 'object',
          properties: {
            user_id: Str(200), user_country_code: Str(20),
            user_first_name: Str(200), user_last_name: Str(200),
            user_email: Str(300), user_password: Str(200),
          },
          required: ['user_id', 'user_country_code'],
          additionalProperties: false,
        },
        response: {
          200: Envelope({
            type: 'object',
            properties: {
              user_id: { type: 'string' }, user_password: { type: 'string' }, full_user_id: { type: 'string' }, domain_name: { type: 'string' },
              user_api_key: { type: 'string' }, user_api_secret: { type: 'string' },
            },
            required: ['user_id', 'user_password', 'full_user_id', 'domain_name', 'user_api_key', 'user_api_secret'],
            examples: [{
              user_id: 'ann', user_password: 'Kx7-pR2q-Wm9z-Ht4v', full_user_id: 'ann@goofiw.gmail.com', domain_name: 'goofiw.gmail.com',
              user_api_key: 'UAK6f1c0e9a2b7d4c8e3f5a1b9d0c7e2f4a', user_api_secret: 'UAS3f9c2a7d5e1b4c8f0a6d2e9b7c1f3a5d',
            }],
          }),
          ...failures,
        },
      },
    }, async (req, reply) => {
      const ctx = await domains.authenticateDomain(tokenOf(req, req.query.key));
      return services.idempotency.run<CreatedUser>(req, reply, `domain:${ctx.domainId}`,
        (record) => domains.createUser(ctx, clientOf(req), req.body, record), (created) => ({ status: 200, body: ok(created) }));
    });

    r.get('/domains/users', {
      schema: {
        querystring: KeyOnly,
        response: { 200: Envelope({ type: 'object', properties: { users: { type: 'array', items: KandyUser } }, required: ['users'] }), ...failures },
      },
    }, async (req) => {
      const ctx = await domains.authenticateDomain(tokenOf(req, req.query.key));
      const users = await domains.listUsers(ctx);
      return ok({ users: users.map((u) => kandyUser(u, ctx.domainName)) });
    });

    r.delete('/domains/users', {
      schema: { querystring: { type: 'object', properties: { key: Key, user_id: Str(200) } }, response: { 200: Envelope({ type: 'null' }), ...failures } },
    }, async (req) => {
      const ctx = await domains.authenticateDomain(tokenOf(req, req.query.key));
      await domains.deleteUser(ctx, clientOf(req), req.query.user_id);
      return ok(null, 'User Deleted');
    });

    r.get('/domains/users/accesstokens', {
      schema: {
        // key=<project API key>&domain_api_secret=…&user_id=…, or key=<user API key>&user_api_secret=…
        querystring: { type: 'object', properties: { key: Key, domain_api_secret: Str(200), user_id: Str(200), user_api_secret: Str(200) } },
        response: {
          200: Envelope({
            type: 'object',
            properties: { user_access_token: { type: 'string' }, full_user_id: { type: 'string' }, expires_in: { type: 'integer' } },
            required: ['user_access_token', 'full_user_id', 'expires_in'],
          }),
          ...failures,
        },
      },
    }, async (req) => {
      const t = await domains.userToken(req.query, req.ip);
      return ok({ user_access_token: t.token, full_user_id: t.full_user_id, expires_in: expiresIn(t.expiresAt, now()) });
    });

    // ---- account level: domains ----

    r.post('/accounts/domains', {
      schema: {
        querystring: KeyOnly,
        body: { type: 'object', properties: { domain_name: Str(300), project_name: Str(200) }, required: ['domain_name'], additionalProperties: false },
        response: {
          200: Envelope({
            type: 'object',
            properties: { domain_name: { type: 'string' }, project_name: { type: 'string' }, domain_api_key: { type: 'string' }, domain_api_secret: { type: 'string' } },
            required: ['domain_name', 'project_name', 'domain_api_key', 'domain_api_secret'],
          }),
          ...failures,
        },
      },
    }, async (req, reply) => {
      const ctx = await domains.authenticateAccount(tokenOf(req, req.query.key));
      return services.idempotency.run<CreatedDomain>(req, reply, `account:${ctx.accountId}`, (record) => domains.createDomain(ctx, clientOf(req), req.body, record),
        ({ domain, apiSecret }) => ({
          status: 200, body: ok({ domain_name: domain.domain_name, project_name: domain.project_name, domain_api_key: domain.api_key, domain_api_secret: apiSecret }),
        }));
    });

    r.get('/accounts/domains', {
      schema: {
        querystring: KeyOnly,
        response: { 200: Envelope({ type: 'object', properties: { domains: { type: 'array', items: KandyDomain } }, required: ['domains'] }), ...failures },
      },
    }, async (req) => {
      const ctx = await domains.authenticateAccount(tokenOf(req, req.query.key));
      const list = await domains.listDomains(ctx);
      return ok({ domains: list.map((d) => ({ domain_name: d.domain_name, project_name: d.project_name, domain_api_key: d.api_key, users: d.users, created_at: d.created_at })) });
    });

    r.delete('/accounts/domains', {
      schema: { querystring: { type: 'object', properties: { key: Key, domain_name: Str(300) } }, response: { 200: Envelope({ type: 'null' }), ...failures } },
    }, async (req) => {
      const ctx = await domains.authenticateAccount(tokenOf(req, req.query.key));
      await domains.deleteDomainByName(ctx, clientOf(req), req.query.domain_name);
      return ok(null, 'Domain Deleted');
    });
  }, { prefix: '/v1.2' });

  await app.register(async (scope) => nativeRoutes(scope, services), { prefix: '/api/v1' });
}
