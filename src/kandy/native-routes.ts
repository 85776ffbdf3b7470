// The native REST API of domains and provisioned users, in Tessera's own style: camelCase JSON,
// bearer tokens only (never in URLs), 201/204 statuses, and {"error": {code, message, details}}
// errors. Same service, same rules as the Kandy surface.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { Services } from '../services.js';
import { ApiError } from '../lib/errors.js';
import { ApiErrorSchema, jsonErrorHandler } from '../http/errors.js';
import type { DomainsTable } from '../db/schema.js';
import type { DomainUser } from './queries.js';
import type { CreatedDomain, CreatedUser } from './domains.service.js';
import { clientOf } from '../http/client.js';

const errors = { 400: ApiErrorSchema, 401: ApiErrorSchema, 403: ApiErrorSchema, 404: ApiErrorSchema, 409: ApiErrorSchema, 422: ApiErrorSchema, 429: ApiErrorSchema };
const Str = (max: number) => ({ type: 'string', maxLength: max }) as const;

const Token = {
  type: 'object',
  properties: { accessToken: { type: 'string' }, tokenType: { type: 'string', const: 'Bearer' }, expiresIn: { type: 'integer' } },
  required: ['accessToken', 'tokenType', 'expiresIn'],
} as const;
const UserToken = {
  type: 'object',
  properties: { ...Token.properties, fullUserId: { type: 'string' } },
  required: [...Token.required, 'fullUserId'],
} as const;
const Credentials = { type: 'object', properties: { apiKey: Str(200), apiSecret: Str(200) }, required: ['apiKey', 'apiSecret'], additionalProperties: false } as const;
const Project = {
  type: 'object',
  properties: {
    id: { type: 'string' }, domainName: { type: 'string' }, projectName: { type: 'string' }, apiKey: { type: 'string' }, users: { type: 'integer' },
    createdAt: { type: 'integer' },
  },
  required: ['id', 'domainName', 'projectName', 'apiKey', 'users', 'createdAt'],
} as const;
const User = {
  type: 'object',
  properties: {
    userId: { type: 'string' }, fullUserId: { type: 'string' }, countryCode: { type: 'string' }, firstName: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    lastName: { anyOf: [{ type: 'string' }, { type: 'null' }] }, email: { anyOf: [{ type: 'string' }, { type: 'null' }] }, apiKey: { type: 'string' },
    createdAt: { type: 'integer' },
  },
  required: ['userId', 'fullUserId', 'countryCode', 'firstName', 'lastName', 'email', 'apiKey', 'createdAt'],
} as const;

// The service names fields as the Kandy wire does; errors here name them as this API does.
const FIELD_NAMES: Record<string, string> = {
  user_id: 'userId', user_country_code: 'countryCode', user_first_name: 'firstName', user_last_name: 'lastName', user_email: 'email',
  user_password: 'password', domain_name: 'domainName', project_name: 'projectName', key: 'authorization',
  account_api_secret: 'apiSecret', domain_api_secret: 'apiSecret', user_api_secret: 'apiSecret',
};

function nativeErrorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const field = err instanceof ApiError ? err.details?.field : undefined;
  if (err instanceof ApiError && typeof field === 'string' && FIELD_NAMES[field]) {
    const renamed = FIELD_NAMES[field];
    const { missing: _m, ...details } = err.details ?? {};
    // This API takes tokens only in the Authorization header, never in the URL.
    const message = err.code === 'unauthenticated' ? 'authorization: send the access token as Authorization: Bearer <token>'
      : err.message.replace(new RegExp(`^${field}:`), `${renamed}:`);
    err = new ApiError(err.code, message, { ...details, field: renamed }, err.retryAfter);
  }
  jsonErrorHandler(err, req, reply);
}

function bearer(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  return auth && /^bearer /i.test(auth) ? auth.slice(7).trim() || undefined : undefined;
}

const project = (d: DomainsTable & { users?: number }) => ({
  id: d.id, domainName: d.domain_name, projectName: d.project_name, apiKey: d.api_key, users: d.users ?? 0, createdAt: d.created_at,
});
const user = (u: DomainUser, domainName: string) => ({
  userId: u.user_id, fullUserId: `${u.user_id}@${domainName}`, countryCode: u.country_code, firstName: u.first_name,
  lastName: u.last_name, email: u.email, apiKey: u.api_key, createdAt: u.created_at,
});

export async function nativeRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const domains = services.domains;
  const now = () => services.deps.clock.now();
  const token = (t: { token: string; expiresAt: number }) => ({ accessToken: t.token, tokenType: 'Bearer' as const, expiresIn: Math.max(0, Math.round((t.expiresAt - now()) / 1000)) });
  r.setErrorHandler(nativeErrorHandler);
  r.addHook('onSend', async (_req, reply) => { void reply.header('cache-control', 'no-store'); });

  r.post('/account/access-tokens', { schema: { body: Credentials, response: { 201: Token, ...errors } } }, async (req, reply) => {
    const t = await domains.accountToken(req.body.apiKey, req.body.apiSecret, req.ip);
    return reply.code(201).send(token(t));
  });

  r.post('/project/access-tokens', { schema: { body: Credentials, response: { 201: Token, ...errors } } }, async (req, reply) => {
    const t = await domains.domainToken(req.body.apiKey, req.body.apiSecret, req.ip);
    return reply.code(201).send(token(t));
  });

  // The user's own API key and secret (returned once when the user was created).
  r.post('/user/access-tokens', { schema: { body: Credentials, response: { 201: UserToken, ...errors } } }, async (req, reply) => {
    const t = await domains.userTokenByUserKey(req.body.apiKey, req.body.apiSecret, req.ip);
    return reply.code(201).send({ ...token(t), fullUserId: t.full_user_id });
  });

  // ---- account access token: projects ----

  r.get('/projects', {
    schema: { response: { 200: { type: 'object', properties: { projects: { type: 'array', items: Project } }, required: ['projects'] }, ...errors } },
  }, async (req) => {
    const ctx = await domains.authenticateAccount(bearer(req));
    return { projects: (await domains.listDomains(ctx)).map(project) };
  });

  r.post('/projects', {
    schema: {
      body: { type: 'object', properties: { domainName: Str(300), projectName: Str(200) }, required: ['domainName'], additionalProperties: false },
      response: {
        201: { type: 'object', properties: { ...Project.properties, apiSecret: { type: 'string' } }, required: [...Project.required, 'apiSecret'] },
        ...errors,
      },
    },
  }, async (req, reply) => {
    const ctx = await domains.authenticateAccount(bearer(req));
    return services.idempotency.run<CreatedDomain>(req, reply, `account:${ctx.accountId}`,
      (record) => domains.createDomain(ctx, clientOf(req), { domain_name: req.body.domainName, project_name: req.body.projectName }, record),
      ({ domain, apiSecret }) => ({ status: 201, body: { ...project(domain), apiSecret } }));
  });

  const ProjectParams = { type: 'object', properties: { projectId: { type: 'string', format: 'uuid' } }, required: ['projectId'] } as const;

  r.delete('/projects/:projectId', { schema: { params: ProjectParams, response: { 204: { type: 'null' }, ...errors } } }, async (req, reply) => {
    const ctx = await domains.authenticateAccount(bearer(req));
    await domains.deleteDomainById(ctx, clientOf(req), req.params.projectId);
    return reply.code(204).send(null);
  });

  r.post('/projects/:projectId/secret', {
    schema: {
      params: ProjectParams,
      response: { 200: { type: 'object', properties: { apiKey: { type: 'string' }, apiSecret: { type: 'string' } }, required: ['apiKey', 'apiSecret'] }, ...errors },
    },
  }, async (req) => {
    const ctx = await domains.authenticateAccount(bearer(req));
    const { domain, apiSecret } = await domains.rotateDomainSecretById(ctx, clientOf(req), req.params.projectId);
    return { apiKey: domain.api_key, apiSecret };
  });

  // ---- domain access token: users ----

  r.get('/project/usage', {
    schema: {
      response: {
        200: { type: 'object', properties: { plan: { type: 'string' }, usersUsed: { type: 'integer' }, usersLimit: { type: 'integer' } }, required: ['plan', 'usersUsed', 'usersLimit'] },
        ...errors,
      },
    },
  }, async (req) => {
    const ctx = await domains.authenticateDomain(bearer(req));
    const u = await domains.usage(ctx.accountId);
    return { plan: u.plan, usersUsed: u.used, usersLimit: u.limit };
  });

  r.get('/project/users', {
    schema: { response: { 200: { type: 'object', properties: { users: { type: 'array', items: User } }, required: ['users'] }, ...errors } },
  }, async (req) => {
    const ctx = await domains.authenticateDomain(bearer(req));
    return { users: (await domains.listUsers(ctx)).map((u) => user(u, ctx.domainName)) };
  });

  r.post('/project/users', {
    schema: {
      body: {
        type: 'object',
        properties: {
          userId: Str(200), countryCode: Str(20), firstName: Str(200), lastName: Str(200), email: Str(300), password: Str(200),
        },
        required: ['userId', 'countryCode'],
        additionalProperties: false,
      },
      response: {
        201: {
          type: 'object',
          properties: {
            userId: { type: 'string' }, password: { type: 'string' }, fullUserId: { type: 'string' }, domainName: { type: 'string' }, apiKey: { type: 'string' },
            apiSecret: { type: 'string' },
          },
          required: ['userId', 'password', 'fullUserId', 'domainName', 'apiKey', 'apiSecret'],
        },
        ...errors,
      },
    },
  }, async (req, reply) => {
    const ctx = await domains.authenticateDomain(bearer(req));
    const b = req.body;
    return services.idempotency.run<CreatedUser>(req, reply, `domain:${ctx.domainId}`, (record) => domains.createUser(ctx, clientOf(req), {
      user_id: b.userId, user_country_code: b.countryCode, user_first_name: b.firstName, user_last_name: b.lastName, user_email: b.email, user_password: b.password,
    }, record), (created) => ({
      status: 201,
      body: {
        userId: created.user_id, password: created.user_password, fullUserId: created.full_user_id, domainName: created.domain_name,
        apiKey: created.user_api_key, apiSecret: created.user_api_secret,
      },
    }));
  });

  const UserParams = { type: 'object', properties: { userId: { type: 'string', minLength: 1, maxLength: 64 } }, required: ['userId'] } as const;

  r.delete('/project/users/:userId', { schema: { params: UserParams, response: { 204: { type: 'null' }, ...errors } } }, async (req, reply) => {
    const ctx = await domains.authenticateDomain(bearer(req));
    await domains.deleteUser(ctx, clientOf(req), req.params.userId);
    return reply.code(204).send(null);
  });

  r.post('/project/users/:userId/access-tokens', {
    schema: { params: UserParams, response: { 201: UserToken, ...errors } },
  }, async (req, reply) => {
    const ctx = await domains.authenticateDomain(bearer(req));
    const t = await domains.userTokenForDomain(ctx, req.params.userId);
    return reply.code(201).send({ ...token(t), fullUserId: t.full_user_id });
  });
}
