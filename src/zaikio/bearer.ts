// Who calls the directory API: the Bearer JWT of the Authorization header, an access token this
// Tessera issued (OAuth, RFC 9068). Its failures are told apart as Zaikio's jwt_auth tells them:
// none sent (401 no_jwt_passed), expired (403 jwt_expired), anything else (403 invalid_jwt).
import type { FastifyRequest } from 'fastify';
import type { Deps } from '../deps.js';
import { ApiError } from '../lib/errors.js';
import { checkAccessToken, type ActiveAccessToken } from '../oauth/tokens.js';

export async function bearerToken(deps: Deps, req: FastifyRequest): Promise<ActiveAccessToken> {
  const auth = req.headers.authorization;
  const token = auth && /^bearer /i.test(auth) ? auth.slice(7).trim() : '';
  if (!token) throw new ApiError('unauthenticated', 'authorization: send the access token as Authorization: Bearer <JWT>');
  const checked = await checkAccessToken(deps, token);
  if (checked === 'expired') throw new ApiError('token_expired', 'authorization: the access token has expired');
  if (checked === 'invalid') throw new ApiError('invalid_token', 'authorization: the access token is not valid');
  return checked;
}
