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
