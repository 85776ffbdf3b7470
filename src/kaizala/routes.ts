// The Kaizala-compatible surface: the token service (GET /v1/accessToken) and the platform API
// under /v1. Routes translate HTTP only; the rules live in TokenService and PlatformService.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { Services } from '../services.js';
import { ApiErrorSchema, jsonErrorHandler } from '../http/errors.js';
import { TokenString } from '../http/schemas.js';
import type { PlatformContext } from './access-tokens.js';
import { clientOf } from '../http/client.js';
import type { PlatformMember } from './platform.service.js';
import type { Message } from '../orgs/orgs.service.js';
import { MESSAGE_MAX } from '../orgs/orgs.service.js';

const errors = { 400: ApiErrorSchema, 401: ApiErrorSchema, 403: ApiErrorSchema, 404: ApiErrorSchema, 422: ApiErrorSchema, 429: ApiErrorSchema };

const Group = {
  type: 'object',
  properties: {
    groupId: { type: 'string' }, groupName: { type: 'string' }, groupImageUrl: { type: 'string' }, hasSubGroups: { type: 'boolean' },
    hasParentGroups: { type: 'boolean' }, groupType: { type: 'string' }, userCount: { type: 'integer' }, callerRole: { type: 'string' },
  },
  required: ['groupId', 'groupName', 'groupImageUrl', 'hasSubGroups', 'hasParentGroups', 'groupType', 'userCount', 'callerRole'],
  examples: [{
    groupId: '0193a1f0-7c2e-7d41-9a0b-3f5c2d1e8a77', groupName: 'Field team', groupImageUrl: '', hasSubGroups: false, hasParentGroups: false,
    groupType: 'Group', userCount: 12, callerRole: 'Admin',
  }],
} as const;
const Id = { type: 'string', minLength: 1, maxLength: 64 } as const;
const GroupParams = { type: 'object', properties: { groupId: Id }, required: ['groupId'] } as const;
const Member = {
  type: 'object',
  properties: { id: { type: 'string' }, role: { type: 'string' }, mobileNumber: { type: 'string' }, isProvisioned: { type: 'boolean' } },
  required: ['id', 'role', 'mobileNumber', 'isProvisioned'],
  examples: [{ id: '0193a1f2-05d9-7b1c-8e44-6a2f0c9d3b15', role: 'Member', mobileNumber: '+14155550123', isProvisioned: true }],
} as const;
const Message = {
  type: 'object',
  properties: {
    referenceId: { type: 'string' }, message: { type: 'string' }, senderType: { type: 'string' }, senderId: { type: 'string' },
    senderName: { type: 'string' }, createdAt: { type: 'integer' },
  },
  required: ['referenceId', 'message', 'senderType', 'senderId', 'senderName', 'createdAt'],
  examples: [{
    referenceId: '0193a1f3-2b7e-7f02-b1d8-4c6e9a0f2d31', message: 'Stock count for aisle 4 is done.', senderType: 'connector',
    senderId: '0193a1e9-9d40-7a35-8c12-7e3b5f1a6c08', senderName: 'Inventory bot', createdAt: 1796150972898,
  }],
} as const;
const Groups = { type: 'object', properties: { groups: { type: 'array', items: Group } }, required: ['groups'] } as const;
const Done = { type: 'object', properties: { result: { type: 'boolean' } }, required: ['result'] } as const;
const Phone = { type: 'string', minLength: 3, maxLength: 32 } as const;

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

const serializedMembers = new WeakMap<readonly PlatformMember[], string>();

/** Sends JSON that already went through the route's response serializer. */
function sendSerialized(reply: FastifyReply, json: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json);
}

export async function kaizalaRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  r.setErrorHandler(jsonErrorHandler);

  r.get('/v1/accessToken', {
    schema: {
      headers: {
        type: 'object',
        properties: {
          applicationid: { type: 'string', minLength: 1, maxLength: 100 },
          applicationsecret: { type: 'string', minLength: 1, maxLength: 200 },
          refreshtoken: { type: 'string', minLength: 1, maxLength: 200 },
        },
        required: ['applicationid', 'applicationsecret', 'refreshtoken'],
      },
      response: {
        200: {
          type: 'object',
          properties: {
            accessToken: TokenString, endpointUrl: { type: 'string' }, accessTokenExpiry: { type: 'integer' }, refreshToken: TokenString,
            scope: { type: 'string' },
          },
          required: ['accessToken', 'endpointUrl', 'accessTokenExpiry', 'refreshToken', 'scope'],
          examples: [{
            accessToken: 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ik…', endpointUrl: 'https://tessera.example.com/v1',
            accessTokenExpiry: 1796154572000, refreshToken: 'trt_Vb3nQ8xZ1mK7rT4wY9pL2cF6hD0sG5jA8eU3iO7yR1t', scope: 'groupinfo.read groupmember.read textmessage.write',
          }],
        },
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
    const p = api.withTypeProvider<JsonSchemaToTsProvider>();
    p.addHook('onRequest', async (req) => {
      req.platform = await services.platformTokens.authenticate(bearer(req));
    });
    const ctx = (req: FastifyRequest): PlatformContext => req.platform!;
    // Idempotency-Keys belong to the connector that sends them (idempotency/idempotency.ts).
    const scopeOf = (req: FastifyRequest): string => `connector:${ctx(req).connectorId}`;

    p.get('/v1/groups', { schema: { response: { 200: Groups, ...errors } } },
      async (req) => ({ groups: await services.platform.listGroups(ctx(req)) }));

    p.get('/v1/groups/:groupId', { schema: { params: GroupParams, response: { 200: Group, ...errors } } },
      async (req) => services.platform.getGroup(ctx(req), req.params.groupId));

    p.get('/v1/groups/:groupId/subGroups', { schema: { params: GroupParams, response: { 200: Groups, ...errors } } },
      async (req) => ({ groups: await services.platform.subGroups(ctx(req), req.params.groupId) }));

    p.post('/v1/groups/:groupId/subGroups', {
      schema: {
        params: GroupParams,
        body: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            welcomeMessage: { type: 'string', maxLength: 500 },
            members: { type: 'array', items: Phone, maxItems: 500 },
            groupType: { type: 'string' },
          },
          required: ['name'],
          additionalProperties: false,
        },
        response: {
          201: {
            type: 'object',
            properties: { groupName: { type: 'string' }, groupId: { type: 'string' }, membersAdded: { type: 'integer' } },
            required: ['groupName', 'groupId', 'membersAdded'],
          },
          ...errors,
        },
      },
    }, async (req, reply) => services.idempotency.run(req, reply, scopeOf(req),
      (record) => services.platform.createSubGroup(ctx(req), clientOf(req), req.params.groupId, req.body, record),
      (created) => ({ status: 201, body: created })));

    p.get('/v1/groups/:groupId/members', {
      schema: {
        params: GroupParams,
        response: { 200: { type: 'object', properties: { members: { type: 'array', items: Member } }, required: ['members'] }, ...errors },
      },
    },
      async (req, reply) => {
        const members = await services.platform.members(ctx(req), req.params.groupId);
        // The list is the same array until the members change (platform.service.ts), and the most
        // requested answer of the API: it goes through the route's serializer once, not per call.
        let body = serializedMembers.get(members);
        if (body === undefined) {
          body = String(reply.serialize({ members }));
          serializedMembers.set(members, body);
        }
        return sendSerialized(reply, body);
      });

    p.put('/v1/groups/:groupId/members', {
      schema: {
        params: GroupParams,
        body: {
          type: 'object',
          properties: { members: { type: 'array', items: Phone, minItems: 1, maxItems: 500 } },
          required: ['members'],
          additionalProperties: false,
        },
        response: {
          200: { type: 'object', properties: { result: { type: 'boolean' }, membersAdded: { type: 'integer' } }, required: ['result', 'membersAdded'] },
          ...errors,
        },
      },
    }, async (req) => ({ result: true, membersAdded: await services.platform.addMembers(ctx(req), clientOf(req), req.params.groupId, req.body.members) }));

    p.delete('/v1/groups/:groupId/members/:memberId', {
      schema: {
        params: { type: 'object', properties: { groupId: Id, memberId: Id }, required: ['groupId', 'memberId'] },
        response: { 200: Done, ...errors },
      },
    }, async (req) => {
      await services.platform.removeMember(ctx(req), clientOf(req), req.params.groupId, req.params.memberId);
      return { result: true };
    });

    p.post('/v1/groups/:groupId/messages', {
      schema: {
        params: GroupParams,
        body: {
          type: 'object',
          properties: {
            message: { type: 'string', minLength: 1, maxLength: MESSAGE_MAX },
            sendToAllSubscribers: { type: 'boolean' },
            subscribers: { type: 'array', items: Phone, maxItems: 500 },
          },
          required: ['message'],
          additionalProperties: false,
        },
        response: { 201: { type: 'object', properties: { referenceId: { type: 'string' } }, required: ['referenceId'] }, ...errors },
      },
    }, async (req, reply) => services.idempotency.run<Message>(req, reply, scopeOf(req),
      (record) => services.platform.postMessage(ctx(req), req.params.groupId, req.body.message, record),
      (msg) => ({ status: 201, body: { referenceId: msg.id } })));

    const Webhook = {
      type: 'object',
      properties: {
        webhookId: { type: 'string' }, objectId: { type: 'string' }, objectType: { type: 'string' }, eventTypes: { type: 'array', items: { type: 'string' } },
        callBackUrl: { type: 'string' }, callBackContext: { type: 'string' }, active: { type: 'boolean' }, expiresAt: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
      },
      required: ['webhookId', 'objectId', 'objectType', 'eventTypes', 'callBackUrl', 'callBackContext', 'active', 'expiresAt'],
    } as const;
    const WebhookParams = { type: 'object', properties: { webhookId: Id }, required: ['webhookId'] } as const;
    // Which of these a body requires is up to each route.
    const WebhookFields = {
      eventTypes: { type: 'array', items: { type: 'string', maxLength: 64 }, minItems: 1, maxItems: 20 },
      callBackUrl: { type: 'string', minLength: 1, maxLength: 2000 },
      callBackToken: { type: 'string', maxLength: 500 },
      callBackContext: { type: 'string', maxLength: 2000 },
      validity: { type: 'integer', minimum: 1, maximum: 3650 },
    } as const;

    p.post('/v1/webhook', {
      schema: {
        body: {
          type: 'object',
          properties: { objectId: Id, objectType: { type: 'string', maxLength: 20 }, ...WebhookFields },
          required: ['objectId', 'objectType', 'eventTypes', 'callBackUrl'],
          additionalProperties: false,
        },
        response: {
          201: { type: 'object', properties: { webhookId: { type: 'string' }, signingSecret: { type: 'string' } }, required: ['webhookId', 'signingSecret'] },
          ...errors,
        },
      },
    }, async (req, reply) => services.idempotency.run(req, reply, scopeOf(req),
      (record) => services.webhooks.register(ctx(req), clientOf(req), req.body, record),
      (registered) => ({ status: 201, body: registered })));

    p.get('/v1/webhook', {
      schema: {
        querystring: {
          type: 'object',
          properties: { objectId: Id, objectType: { type: 'string', maxLength: 20 } },
          required: ['objectId', 'objectType'],
          additionalProperties: false,
        },
        response: { 200: { type: 'object', properties: { webhooks: { type: 'array', items: Webhook } }, required: ['webhooks'] }, ...errors },
      },
    }, async (req) => ({ webhooks: await services.webhooks.list(ctx(req), req.query.objectId, req.query.objectType) }));

    p.put('/v1/webhook/:webhookId', {
      schema: {
        params: WebhookParams,
        body: {
          type: 'object',
          properties: {
            eventTypes: WebhookFields.eventTypes, callBackUrl: WebhookFields.callBackUrl, callBackToken: WebhookFields.callBackToken,
            callBackContext: WebhookFields.callBackContext, validity: WebhookFields.validity, Active: { type: 'boolean' },
          },
          additionalProperties: false,
        },
        response: { 200: Webhook, ...errors },
      },
    }, async (req) => services.webhooks.update(ctx(req), clientOf(req), req.params.webhookId, req.body));

    p.delete('/v1/webhook/:webhookId', {
      schema: { params: WebhookParams, response: { 200: Done, ...errors } },
    }, async (req) => {
      await services.webhooks.remove(ctx(req), clientOf(req), req.params.webhookId);
      return { result: true };
    });

    p.get('/v1/groups/:groupId/messages', {
      schema: {
        params: GroupParams,
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
            cursor: { type: 'string', minLength: 36, maxLength: 36 },
          },
          // Ajv fills in the default before checking, so a client may leave it out.
          required: ['limit'],
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: { messages: { type: 'array', items: Message }, nextCursor: { anyOf: [{ type: 'string' }, { type: 'null' }] } },
            required: ['messages', 'nextCursor'],
          },
          ...errors,
        },
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
