// POST /oauth/token (RFC 6749 §3.2), and /oauth/access_token, the Zaikio name for the same
// endpoint, whose answers separate scopes with commas as Zaikio's do.
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../../services.js';
import { formatScope } from '../tokens.js';
import { ClientAuthFields, Param, oauthErrors } from './schemas.js';

const TokenResponse = Type.Object({
  access_token: Type.String(), token_type: Type.String(), expires_in: Type.Integer(), scope: Type.String(),
  refresh_token: Type.Optional(Type.String()), id_token: Type.Optional(Type.String()),
  bearer: Type.Object({ id: Type.String(), type: Type.String() }),
});

export async function tokenEndpoint(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  for (const [path, separator] of [['/oauth/token', ' '], ['/oauth/access_token', ',']] as const) {
    r.post(path, {
      schema: {
        // Unknown parameters are ignored (RFC 6749 §3.2); a repeated one fails the string type.
        body: Type.Object({
          grant_type: Param, code: Type.Optional(Param), redirect_uri: Type.Optional(Param), code_verifier: Type.Optional(Param),
          refresh_token: Type.Optional(Param), scope: Type.Optional(Param), ...ClientAuthFields,
        }),
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
