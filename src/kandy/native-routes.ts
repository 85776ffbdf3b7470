// The native REST API of domains and provisioned users, in Tessera's own style: camelCase JSON,
// bearer tokens only (never in URLs), 201/204 statuses, and {"error": {code, message, details}}
// errors. Same service, same rules as the Kandy surface.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../services.js';
import { ApiError } from '../lib/errors.js';
import { jsonErrorHandler } from '../http/errors.js';
import type { DomainsTable } from '../db/schema.js';
import type { DomainUser } from './queries.js';

const ErrorSchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }),
});
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };
const Str = (max: number) => Type.String({ maxLength: max });

const Token = Type.Object({ accessToken: Type.String(), tokenType: Type.Literal('Bearer'), expiresIn: Type.Integer() });
const Credentials = Type.Object({ apiKey: Str(200), apiSecret: Str(200) }, { additionalProperties: false });
const Project = Type.Object({ id: Type.String(), domainName: Type.String(), projectName: Type.String(), apiKey: Type.String(), users: Type.Integer(), createdAt: Type.Integer() });
const User = Type.Object({
  userId: Type.String(), fullUserId: Type.String(), countryCode: Type.String(), firstName: Type.Union([Type.String(), Type.Null()]),
  lastName: Type.Union([Type.String(), Type.Null()]), email: Type.Union([Type.String(), Type.Null()]), apiKey: Type.String(), createdAt: Type.Integer(),
});

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
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const domains = services.domains;
  const now = () => services.deps.clock.now();
  const token = (t: { token: string; expiresAt: number }) => ({ accessToken: t.token, tokenType: 'Bearer' as const, expiresIn: Math.max(0, Math.round((t.expiresAt - now()) / 1000)) });
  r.setErrorHandler(nativeErrorHandler);
  r.addHook('onSend', async (_req, reply) => { void reply.header('cache-control', 'no-store'); });

  r.post('/account/access-tokens', { schema: { body: Credentials, response: { 201: Token, ...errors } } }, async (req, reply) => {
    const t = await domains.accountToken(req.body.apiKey, req.body.apiSecret);
    return reply.code(201).send(token(t));
  });

  r.post('/project/access-tokens', { schema: { body: Credentials, response: { 201: Token, ...errors } } }, async (req, reply) => {
    const t = await domains.domainToken(req.body.apiKey, req.body.apiSecret);
    return reply.code(201).send(token(t));
  });

  // The user's own API key and secret (returned once when the user was created).
  r.post('/user/access-tokens', { schema: { body: Credentials, response: { 201: Type.Object({ ...Token.properties, fullUserId: Type.String() }), ...errors } } }, async (req, reply) => {
    const t = await domains.userTokenByUserKey(req.body.apiKey, req.body.apiSecret);
    return reply.code(201).send({ ...token(t), fullUserId: t.full_user_id });
  });

  // ---- account access token: projects ----

  r.get('/projects', { schema: { response: { 200: Type.Object({ projects: Type.Array(Project) }), ...errors } } }, async (req) => {
    const ctx = await domains.authenticateAccount(bearer(req));
    return { projects: (await domains.listDomains(ctx)).map(project) };
  });

  r.post('/projects', {
    schema: {
      body: Type.Object({ domainName: Str(300), projectName: Type.Optional(Str(200)) }, { additionalProperties: false }),
      response: { 201: Type.Object({ ...Project.properties, apiSecret: Type.String() }), ...errors },
    },
  }, async (req, reply) => {
    const ctx = await domains.authenticateAccount(bearer(req));
    const { domain, apiSecret } = await domains.createDomain(ctx, { domain_name: req.body.domainName, project_name: req.body.projectName });
    return reply.code(201).send({ ...project(domain), apiSecret });
  });

  const ProjectParams = Type.Object({ projectId: Type.String({ format: 'uuid' }) });

  r.delete('/projects/:projectId', { schema: { params: ProjectParams, response: { 204: Type.Null(), ...errors } } }, async (req, reply) => {
    const ctx = await domains.authenticateAccount(bearer(req));
    await domains.deleteDomainById(ctx, req.params.projectId);
    return reply.code(204).send(null);
  });

  r.post('/projects/:projectId/secret', {
    schema: { params: ProjectParams, response: { 200: Type.Object({ apiKey: Type.String(), apiSecret: Type.String() }), ...errors } },
  }, async (req) => {
    const ctx = await domains.authenticateAccount(bearer(req));
    const { domain, apiSecret } = await domains.rotateDomainSecretById(ctx, req.params.projectId);
    return { apiKey: domain.api_key, apiSecret };
  });

  // ---- domain access token: users ----

  r.get('/project/usage', {
    schema: { response: { 200: Type.Object({ plan: Type.String(), usersUsed: Type.Integer(), usersLimit: Type.Integer() }), ...errors } },
  }, async (req) => {
    const ctx = await domains.authenticateDomain(bearer(req));
    const u = await domains.usage(ctx.accountId);
    return { plan: u.plan, usersUsed: u.used, usersLimit: u.limit };
  });

  r.get('/project/users', { schema: { response: { 200: Type.Object({ users: Type.Array(User) }), ...errors } } }, async (req) => {
    const ctx = await domains.authenticateDomain(bearer(req));
    return { users: (await domains.listUsers(ctx)).map((u) => user(u, ctx.domainName)) };
  });

  r.post('/project/users', {
    schema: {
      body: Type.Object({
        userId: Str(200), countryCode: Str(20), firstName: Type.Optional(Str(200)), lastName: Type.Optional(Str(200)),
        email: Type.Optional(Str(300)), password: Type.Optional(Str(200)),
      }, { additionalProperties: false }),
      response: {
        201: Type.Object({ userId: Type.String(), password: Type.String(), fullUserId: Type.String(), domainName: Type.String(), apiKey: Type.String(), apiSecret: Type.String() }),
        ...errors,
      },
    },
  }, async (req, reply) => {
    const ctx = await domains.authenticateDomain(bearer(req));
    const b = req.body;
    const created = await domains.createUser(ctx, {
      user_id: b.userId, user_country_code: b.countryCode, user_first_name: b.firstName, user_last_name: b.lastName, user_email: b.email, user_password: b.password,
    });
    return reply.code(201).send({
      userId: created.user_id, password: created.user_password, fullUserId: created.full_user_id, domainName: created.domain_name,
      apiKey: created.user_api_key, apiSecret: created.user_api_secret,
    });
  });

  const UserParams = Type.Object({ userId: Type.String({ minLength: 1, maxLength: 64 }) });

  r.delete('/project/users/:userId', { schema: { params: UserParams, response: { 204: Type.Null(), ...errors } } }, async (req, reply) => {
    const ctx = await domains.authenticateDomain(bearer(req));
    await domains.deleteUser(ctx, req.params.userId);
    return reply.code(204).send(null);
  });

  r.post('/project/users/:userId/access-tokens', {
    schema: { params: UserParams, response: { 201: Type.Object({ ...Token.properties, fullUserId: Type.String() }), ...errors } },
  }, async (req, reply) => {
    const ctx = await domains.authenticateDomain(bearer(req));
    const t = await domains.userTokenForDomain(ctx, req.params.userId);
    return reply.code(201).send({ ...token(t), fullUserId: t.full_user_id });
  });
}
