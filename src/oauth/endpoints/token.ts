// POST /oauth/token (RFC 6749 §3.2), and /oauth/access_token, the Zaikio name for the same
// endpoint, whose answers separate scopes with commas as Zaikio's do.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { Services } from '../../services.js';
import { formatScope } from '../tokens.js';
import { ClientAuthFields, Param, oauthErrors } from './schemas.js';
import { TokenString } from '../../http/schemas.js';

const TokenResponse = {
  type: 'object',
  properties: {
    access_token: TokenString, token_type: { type: 'string' }, expires_in: { type: 'integer' }, scope: { type: 'string' },
    refresh_token: TokenString, id_token: TokenString,
    bearer: { type: 'object', properties: { id: { type: 'string' }, type: { type: 'string' } }, required: ['id', 'type'] },
  },
  required: ['access_token', 'token_type', 'expires_in', 'scope', 'bearer'],
  examples: [{
    access_token: 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ik…', token_type: 'Bearer', expires_in: 3600, scope: 'openid groupinfo.read',
    refresh_token: 'tor_0193a1f5-9b3d-7f25-84a0-3e5f7a9b1c2d_q8Xw3vR0mT5yL2nB7cK9dF4hJ6gP1sA0zE3uI8oY5tW', bearer: { id: '0193a1e7-1a2b-7c3d-8e4f-5a6b7c8d9e0f', type: 'Person' },
  }],
} as const;

export async function tokenEndpoint(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  for (const [path, separator] of [['/oauth/token', ' '], ['/oauth/access_token', ',']] as const) {
    r.post(path, {
      schema: {
        // Unknown parameters are ignored (RFC 6749 §3.2); a repeated one fails the string type.
        body: {
          type: 'object',
          properties: {
            grant_type: Param, code: Param, redirect_uri: Param, code_verifier: Param,
            refresh_token: Param, scope: Param, ...ClientAuthFields,
          },
          required: ['grant_type'],
        },
        response: { 200: TokenResponse, ...oauthErrors },
      },
    }, async (req, reply) => {
      const body = await services.oauth.token({ ...req.body, authorization: req.headers.authorization }, req.ip);
      // RFC 6749 §5.1: token responses must not be cached.
      void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return { ...body, scope: formatScope(body.scope, separator) };
    });
  }
}
