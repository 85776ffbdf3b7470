// The Platform API's routes under /api/v1/platforms/{name} (docs/zaikio.md), in the directory's
// shapes and errors (zaikio/errors.ts). Lists are paginated as Zaikio's API does: `page` and
// `per_page` in the query, `Total-Count`, `Total-Pages`, `Current-Page` and a `Link` header.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { Services } from '../services.js';
import type { MemberType } from '../db/schema.js';
import { zaikioErrorHandler } from '../zaikio/errors.js';
import { bearerToken } from '../zaikio/bearer.js';
import { OrganizationBody, OrganizationSchema, ZaikioErrors } from '../zaikio/schemas.js';
import type { ZaikioOrganization } from '../zaikio/directory.js';
import { MEMBERS_PER_PAGE_MAX } from './memberships.js';

const errors = { 401: ZaikioErrors, 403: ZaikioErrors, 404: ZaikioErrors };
const Name = { type: 'string', maxLength: 40 } as const;
const Uuid = { type: 'string', format: 'uuid' } as const;
const PlatformParams = { type: 'object', properties: { platform: Name }, required: ['platform'], additionalProperties: false } as const;
const PersonParams = { type: 'object', properties: { platform: Name, personId: Uuid }, required: ['platform', 'personId'], additionalProperties: false } as const;
const MemberParams = {
  type: 'object', properties: { platform: Name, kind: { type: 'string', enum: ['persons', 'organizations'] }, id: Uuid }, required: ['platform', 'kind', 'id'], additionalProperties: false
} as const;
const ListQuery = {
  type: 'object',
  properties: {
    page: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 1 },
    per_page: { type: 'integer', minimum: 1, maximum: MEMBERS_PER_PAGE_MAX, default: 25 },
    type: { type: 'string', enum: ['Person', 'Organization'] },
    q: { type: 'string', maxLength: 200 },
  },
  additionalProperties: false,
} as const;

const Str = { type: 'string' } as const;
const Member = {
  type: 'object',
  properties: { type: { type: 'string', enum: ['Person', 'Organization'] }, id: Str, name: Str, email: Str, joined_via: Str, joined_at: Str },
  required: ['type', 'id', 'name', 'joined_via', 'joined_at'], additionalProperties: false
} as const;
const PlatformSchema = {
  type: 'object',
  properties: {
    id: Str, name: Str, display_name: Str, primary_color: Str, support_contact: { type: ['string', 'null'] }, logo_url: { type: ['string', 'null'] },
    app_id: Str, organization: OrganizationSchema, members_count: { type: 'integer' }, created_at: Str, updated_at: Str,
  },
  required: ['id', 'name', 'display_name', 'primary_color', 'support_contact', 'logo_url', 'app_id', 'organization', 'members_count', 'created_at', 'updated_at'], additionalProperties: false
} as const;
const MemberPerson = {
  type: 'object',
  properties: {
    id: Str, name: Str, full_name: Str, email: Str, joined_via: Str, joined_at: Str,
    organizations: { type: 'array', items: { type: 'object', properties: { ...OrganizationSchema.properties, roles: { type: 'array', items: Str }, platform_member: { type: 'boolean' } }, required: [...OrganizationSchema.required, 'roles', 'platform_member'], additionalProperties: false } },
  },
  required: ['id', 'name', 'full_name', 'email', 'joined_via', 'joined_at', 'organizations'], additionalProperties: false
} as const;

/** Zaikio's pagination headers, with RFC 8288 links to the neighbouring pages. */
function paginate(req: FastifyRequest, reply: FastifyReply, base: string, page: number, perPage: number, total: number): void {
  const pages = Math.max(1, Math.ceil(total / perPage));
  const url = (p: number) => {
    const q = new URLSearchParams(req.query as Record<string, string>);
    q.set('page', String(p));
    q.set('per_page', String(perPage));
    return `<${base}?${q.toString()}>`;
  };
  const links = [`${url(1)}; rel="first"`, `${url(pages)}; rel="last"`];
  if (page > 1) links.push(`${url(Math.min(page - 1, pages))}; rel="prev"`);
  if (page < pages) links.push(`${url(page + 1)}; rel="next"`);
  void reply.header('total-count', String(total)).header('total-pages', String(pages)).header('current-page', String(page)).header('link', links.join(', '));
}

export async function platformApiRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const { deps, platformApi, idempotency } = services;
  r.setErrorHandler(zaikioErrorHandler);
  r.addHook('onSend', async (_req, reply) => {
    void reply.header('cache-control', 'no-store');
  });

  r.get('/api/v1/platforms/:platform', { schema: { params: PlatformParams, response: { 200: PlatformSchema, ...errors } } }, async (req) => {
    const platform = await platformApi.platformFor(await bearerToken(deps, req), req.params.platform, 'r');
    return platformApi.read(platform);
  });

  r.get('/api/v1/platforms/:platform/members', {
    schema: { params: PlatformParams, querystring: ListQuery, response: { 200: { type: 'array', items: Member }, ...errors } },
  }, async (req, reply) => {
    const platform = await platformApi.platformFor(await bearerToken(deps, req), req.params.platform, 'r');
    const { page, per_page: perPage, type, q } = req.query;
    const { members, total } = await platformApi.members(platform, { page, perPage, type: type as MemberType | undefined, q });
    paginate(req, reply, `${deps.config.publicUrl}/api/v1/platforms/${platform.name}/members`, page, perPage, total);
    return members;
  });

  r.get('/api/v1/platforms/:platform/persons/:personId', { schema: { params: PersonParams, response: { 200: MemberPerson, ...errors } } }, async (req) => {
    const platform = await platformApi.platformFor(await bearerToken(deps, req), req.params.platform, 'r');
    return platformApi.person(platform, req.params.personId);
  });

  r.post('/api/v1/platforms/:platform/persons/:personId/organizations', {
    schema: { params: PersonParams, body: OrganizationBody, response: { 201: OrganizationSchema, ...errors } },
  }, async (req, reply) => {
    const platform = await platformApi.platformFor(await bearerToken(deps, req), req.params.platform, 'w');
    return idempotency.run<ZaikioOrganization>(req, reply, `platform:${platform.id}`,
      (record) => platformApi.createOrganization(platform, req.params.personId, req.body.organization, record),
      (org) => ({ status: 201, body: org }));
  });

  r.delete('/api/v1/platforms/:platform/members/:kind/:id', { schema: { params: MemberParams, response: { 204: { type: 'null' }, ...errors } } }, async (req, reply) => {
    const platform = await platformApi.platformFor(await bearerToken(deps, req), req.params.platform, 'w');
    await platformApi.end(platform, req.params.kind === 'persons' ? 'Person' : 'Organization', req.params.id);
    return reply.code(204).send(null);
  });
}
