// The Zaikio-compatible directory surface under /api/v1 (docs/zaikio.md): what a resource server
// written as Zaikio's jwt_auth needs — the public keys that verify access tokens, and the list of
// tokens revoked before their expiry — revoking the calling token, and the person and
// organisation resources. Errors: zaikio/errors.ts; who may do what: zaikio/access.ts.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { Services } from '../services.js';
import { zaikioErrorHandler } from './errors.js';
import { bearerToken } from './bearer.js';
import { requireAccess } from './access.js';
import { listRevokedAccessTokens, revokeAccessToken } from '../oauth/queries.js';
import type { ZaikioOrganization } from './directory.js';
import { AUDIT_PAGE_MAX, AuditLogService } from '../audit/audit.service.js';
import { Jwks } from '../http/schemas.js';
import type { JWK } from 'jose';
import { OrganizationBody, OrganizationDetailSchema, OrganizationSchema, PersonSchema, OrganizationMembershipSchema, PersonMembershipSchema, ZaikioErrors } from './schemas.js';

const errors = { 401: ZaikioErrors, 403: ZaikioErrors, 404: ZaikioErrors };

export async function zaikioRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const { deps, directory } = services;
  r.setErrorHandler(zaikioErrorHandler);
  // Directory answers are about one bearer and change with it: never stored by a shared cache.
  r.addHook('onSend', async (_req, reply) => {
    if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
  });

  // The same keys as /.well-known/jwks.json: clients cache them for an hour and try each.
  r.get('/api/v1/jwt_public_keys', { schema: { response: { 200: Jwks } } }, async (_req, reply) => {
    void reply.header('cache-control', 'public, max-age=300');
    // Every published key has its kid and kty (signing-keys.ts); jose's JWK type leaves both optional.
    return deps.keys.publishedJwks() as Promise<{ keys: (JWK & { kid: string; kty: string })[] }>;
  });

  // Access tokens revoked before they expire; a token drops off the list once it has expired
  // anyway (db/retention.ts), so the list stays as short as the tokens' lifetime allows.
  r.get('/api/v1/revoked_access_tokens', {
    schema: { response: { 200: { type: 'object', properties: { revoked_token_ids: { type: 'array', items: { type: 'string' } } }, required: ['revoked_token_ids'] } } },
  }, async () => ({ revoked_token_ids: await listRevokedAccessTokens(deps.db, deps.clock.now()) }));

  // Revokes the calling token (a client signing a person out, or giving up a private token).
  r.post('/api/v1/revoked_access_tokens', {
    schema: { response: { 201: { type: 'object', properties: { access_token_id: { type: 'string' } }, required: ['access_token_id'] }, ...errors } },
  }, async (req, reply) => {
    const token = await bearerToken(deps, req);
    await revokeAccessToken(deps.db, token.jti, token.exp * 1000);
    return reply.code(201).send({ access_token_id: token.jti });
  });

  r.get('/api/v1/person', { schema: { response: { 200: PersonSchema, ...errors } } }, async (req) => {
    const userId = requireAccess(await bearerToken(deps, req), 'Person', 'person', 'r');
    return directory.person(userId);
  });

  r.get('/api/v1/person/organization_memberships', { schema: { response: { 200: { type: 'array', items: PersonMembershipSchema }, ...errors } } }, async (req) => {
    const userId = requireAccess(await bearerToken(deps, req), 'Person', 'person', 'r');
    return directory.personMemberships(userId);
  });

  // Zaikio: an app creates an organisation in the person's name; the person becomes its owner.
  // Made by a platform's app, the organisation joins that platform.
  r.post('/api/v1/person/organizations', { schema: { body: OrganizationBody, response: { 201: OrganizationSchema, ...errors } } }, async (req, reply) => {
    const token = await bearerToken(deps, req);
    const userId = requireAccess(token, 'Person', 'organization', 'w');
    const platform = await services.platforms.ofApp(token.clientId);
    return services.idempotency.run<ZaikioOrganization>(req, reply, `person:${userId}`,
      (record) => directory.createOrganization(userId, req.body.organization, platform, record),
      (org) => ({ status: 201, body: org }));
  });

  r.get('/api/v1/organization', { schema: { response: { 200: OrganizationDetailSchema, ...errors } } }, async (req) => {
    const orgId = requireAccess(await bearerToken(deps, req), 'Organization', 'organization', 'r');
    return directory.organizationDetail(orgId);
  });

  // The organisation's audit log for integrators (a private access token with directory.audit_log.r),
  // newest first; `before` (an entry id, from the Link header) pages back.
  const AuditEntry = {
    type: 'object',
    properties: {
      id: { type: 'string' }, time: { type: 'string', format: 'date-time' }, action: { type: 'string' },
      actor: { type: 'object', properties: { type: { type: 'string' }, id: { type: 'string' }, name: { type: ['string', 'null'] }, email: { type: ['string', 'null'] } }, required: ['type', 'id', 'name', 'email'] },
      target: { type: 'object', properties: { type: { type: 'string' }, id: { type: 'string' } }, required: ['type', 'id'] },
      summary: { type: ['string', 'null'] }, ip: { type: ['string', 'null'] }, user_agent: { type: ['string', 'null'] },
    },
    required: ['id', 'time', 'action', 'actor', 'target', 'summary', 'ip', 'user_agent'],
  } as const;
  r.get('/api/v1/organization/audit_events', {
    schema: {
      querystring: {
        type: 'object',
        properties: {
          actor: { type: 'string', maxLength: 254 }, action: { type: 'string', maxLength: 60 }, target: { type: 'string', maxLength: 254 },
          from: { type: 'string', maxLength: 30 }, to: { type: 'string', maxLength: 30 }, before: { type: 'string', maxLength: 36 },
          per_page: { type: 'integer', minimum: 1, maximum: AUDIT_PAGE_MAX, default: 50 },
        },
      },
      response: { 200: { type: 'array', items: AuditEntry }, 400: ZaikioErrors, ...errors },
    },
  }, async (req, reply) => {
    const orgId = requireAccess(await bearerToken(deps, req), 'Organization', 'audit_log', 'r');
    const { per_page: perPage, before, ...raw } = req.query;
    const page = await services.auditLog.page(orgId, AuditLogService.checkFilter(raw), { before, limit: perPage });
    if (page.next) {
      const next = new URLSearchParams(Object.entries({ ...raw, per_page: String(perPage), before: page.next }).filter((e): e is [string, string] => e[1] !== undefined));
      void reply.header('link', `<${deps.config.publicUrl}/api/v1/organization/audit_events?${next.toString()}>; rel="next"`);
    }
    return page.entries.map((e) => ({
      id: e.id, time: new Date(e.at).toISOString(), action: e.action, actor: e.actor, target: e.target, summary: e.summary, ip: e.ip, user_agent: e.userAgent,
    }));
  });

  r.get('/api/v1/organization/memberships', { schema: { response: { 200: { type: 'array', items: OrganizationMembershipSchema }, ...errors } } }, async (req) => {
    const orgId = requireAccess(await bearerToken(deps, req), 'Organization', 'organization', 'r');
    return directory.organizationMemberships(orgId);
  });
}
