// The Kaizala-compatible surface: the token service (GET /v1/accessToken) and the platform API
// under /v1. Routes translate HTTP only; the rules live in TokenService and PlatformService.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../services.js';
import { jsonErrorHandler } from '../http/errors.js';
import type { PlatformContext } from './access-tokens.js';
import { MESSAGE_MAX } from '../orgs/orgs.service.js';

const ErrorSchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }),
});
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 429: ErrorSchema };

const Group = Type.Object({
  groupId: Type.String(), groupName: Type.String(), groupImageUrl: Type.String(), hasSubGroups: Type.Boolean(),
  hasParentGroups: Type.Boolean(), groupType: Type.String(), userCount: Type.Integer(), callerRole: Type.String(),
});
const GroupParams = Type.Object({ groupId: Type.String({ minLength: 1, maxLength: 64 }) });
const Member = Type.Object({ id: Type.String(), role: Type.String(), mobileNumber: Type.String(), isProvisioned: Type.Boolean() });
const Message = Type.Object({
  referenceId: Type.String(), message: Type.String(), senderType: Type.String(), senderId: Type.String(), senderName: Type.String(), createdAt: Type.Integer(),
});
const Phone = Type.String({ minLength: 3, maxLength: 32 });

declare module 'fastify' {
  interface FastifyRequest { platform?: PlatformContext }
}

function bearer(req: FastifyRequest): string | undefined {
  const header = req.headers.accesstoken;
  if (typeof header === 'string' && header) return header;
  const auth = req.headers.authorization;
  if (auth && /^bearer /i.test(auth)) return auth.slice(7).trim();
  return undefined;
}

export async function kaizalaRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.setErrorHandler(jsonErrorHandler);

  r.get('/v1/accessToken', {
    schema: {
      headers: Type.Object({
        applicationid: Type.String({ minLength: 1, maxLength: 100 }),
        applicationsecret: Type.String({ minLength: 1, maxLength: 200 }),
        refreshtoken: Type.String({ minLength: 1, maxLength: 200 }),
      }),
      response: {
        200: Type.Object({ accessToken: Type.String(), endpointUrl: Type.String(), accessTokenExpiry: Type.Integer(), refreshToken: Type.String(), scope: Type.String() }),
        ...errors,
      },
    },
  }, async (req, reply) => {
    const h = req.headers;
    const body = await services.tokens.exchange(h.applicationid, h.applicationsecret, h.refreshtoken, req.ip);
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return body;
  });

  // Everything below needs a platform access token.
  await r.register(async (api) => {
    const p = api.withTypeProvider<TypeBoxTypeProvider>();
    p.addHook('onRequest', async (req) => {
      req.platform = await services.platformTokens.authenticate(bearer(req));
    });
    const ctx = (req: FastifyRequest): PlatformContext => req.platform!;

    p.get('/v1/groups', { schema: { response: { 200: Type.Object({ groups: Type.Array(Group) }), ...errors } } },
      async (req) => ({ groups: await services.platform.listGroups(ctx(req)) }));

    p.get('/v1/groups/:groupId', { schema: { params: GroupParams, response: { 200: Group, ...errors } } },
      async (req) => services.platform.getGroup(ctx(req), req.params.groupId));

    p.get('/v1/groups/:groupId/subGroups', { schema: { params: GroupParams, response: { 200: Type.Object({ groups: Type.Array(Group) }), ...errors } } },
      async (req) => ({ groups: await services.platform.subGroups(ctx(req), req.params.groupId) }));

    p.post('/v1/groups/:groupId/subGroups', {
      schema: {
        params: GroupParams,
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 100 }),
          welcomeMessage: Type.Optional(Type.String({ maxLength: 500 })),
          members: Type.Optional(Type.Array(Phone, { maxItems: 500 })),
          groupType: Type.Optional(Type.String()),
        }, { additionalProperties: false }),
        response: { 201: Type.Object({ groupName: Type.String(), groupId: Type.String(), membersAdded: Type.Integer() }), ...errors },
      },
    }, async (req, reply) => {
      void reply.code(201);
      return services.platform.createSubGroup(ctx(req), req.params.groupId, req.body);
    });

    p.get('/v1/groups/:groupId/members', { schema: { params: GroupParams, response: { 200: Type.Object({ members: Type.Array(Member) }), ...errors } } },
      async (req) => {
        const members = await services.platform.members(ctx(req), req.params.groupId);
        return { members: members.map((m) => ({ id: m.id, role: m.role === 'admin' ? 'Admin' : 'Member', mobileNumber: m.phone, isProvisioned: m.isProvisioned })) };
      });

    p.put('/v1/groups/:groupId/members', {
      schema: {
        params: GroupParams,
        body: Type.Object({ members: Type.Array(Phone, { minItems: 1, maxItems: 500 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ result: Type.Boolean(), membersAdded: Type.Integer() }), ...errors },
      },
    }, async (req) => ({ result: true, membersAdded: await services.platform.addMembers(ctx(req), req.params.groupId, req.body.members) }));

    p.delete('/v1/groups/:groupId/members/:memberId', {
      schema: { params: Type.Object({ groupId: Type.String({ minLength: 1, maxLength: 64 }), memberId: Type.String({ minLength: 1, maxLength: 64 }) }), response: { 200: Type.Object({ result: Type.Boolean() }), ...errors } },
    }, async (req) => {
      await services.platform.removeMember(ctx(req), req.params.groupId, req.params.memberId);
      return { result: true };
    });

    p.post('/v1/groups/:groupId/messages', {
      schema: {
        params: GroupParams,
        body: Type.Object({
          message: Type.String({ minLength: 1, maxLength: MESSAGE_MAX }),
          sendToAllSubscribers: Type.Optional(Type.Boolean()),
          subscribers: Type.Optional(Type.Array(Phone, { maxItems: 500 })),
        }, { additionalProperties: false }),
        response: { 201: Type.Object({ referenceId: Type.String() }), ...errors },
      },
    }, async (req, reply) => {
      const msg = await services.platform.postMessage(ctx(req), req.params.groupId, req.body.message);
      void reply.code(201);
      return { referenceId: msg.id };
    });

    const Webhook = Type.Object({
      webhookId: Type.String(), objectId: Type.String(), objectType: Type.String(), eventTypes: Type.Array(Type.String()), callBackUrl: Type.String(),
      callBackContext: Type.String(), active: Type.Boolean(), expiresAt: Type.Union([Type.Integer(), Type.Null()]),
    });
    const WebhookFields = {
      eventTypes: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 20 }),
      callBackUrl: Type.String({ minLength: 1, maxLength: 2000 }),
      callBackToken: Type.Optional(Type.String({ maxLength: 500 })),
      callBackContext: Type.Optional(Type.String({ maxLength: 2000 })),
      validity: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
    };

    p.post('/v1/webhook', {
      schema: {
        body: Type.Object({ objectId: Type.String({ minLength: 1, maxLength: 64 }), objectType: Type.String({ maxLength: 20 }), ...WebhookFields }, { additionalProperties: false }),
        response: { 201: Type.Object({ webhookId: Type.String(), signingSecret: Type.String() }), ...errors },
      },
    }, async (req, reply) => {
      void reply.code(201);
      return services.webhooks.register(ctx(req), req.body);
    });

    p.get('/v1/webhook', {
      schema: {
        querystring: Type.Object({ objectId: Type.String({ minLength: 1, maxLength: 64 }), objectType: Type.String({ maxLength: 20 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ webhooks: Type.Array(Webhook) }), ...errors },
      },
    }, async (req) => ({ webhooks: await services.webhooks.list(ctx(req), req.query.objectId, req.query.objectType) }));

    p.put('/v1/webhook/:webhookId', {
      schema: {
        params: Type.Object({ webhookId: Type.String({ minLength: 1, maxLength: 64 }) }),
        body: Type.Object({
          eventTypes: Type.Optional(WebhookFields.eventTypes), callBackUrl: Type.Optional(WebhookFields.callBackUrl), callBackToken: WebhookFields.callBackToken,
          callBackContext: WebhookFields.callBackContext, validity: WebhookFields.validity, Active: Type.Optional(Type.Boolean()),
        }, { additionalProperties: false }),
        response: { 200: Webhook, ...errors },
      },
    }, async (req) => services.webhooks.update(ctx(req), req.params.webhookId, req.body));

    p.delete('/v1/webhook/:webhookId', {
      schema: { params: Type.Object({ webhookId: Type.String({ minLength: 1, maxLength: 64 }) }), response: { 200: Type.Object({ result: Type.Boolean() }), ...errors } },
    }, async (req) => {
      await services.webhooks.remove(ctx(req), req.params.webhookId);
      return { result: true };
    });

    p.get('/v1/groups/:groupId/messages', {
      schema: {
        params: GroupParams,
        querystring: Type.Object({
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
          cursor: Type.Optional(Type.String({ minLength: 36, maxLength: 36 })),
        }, { additionalProperties: false }),
        response: { 200: Type.Object({ messages: Type.Array(Message), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errors },
      },
    }, async (req) => {
      const page = await services.platform.messages(ctx(req), req.params.groupId, req.query.limit, req.query.cursor);
      return {
        messages: page.messages.map((m) => ({ referenceId: m.id, message: m.text, senderType: m.sender_type, senderId: m.sender_id, senderName: m.sender_name, createdAt: m.created_at })),
        nextCursor: page.nextCursor,
      };
    });
  });
}
