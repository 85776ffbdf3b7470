// Authorization server metadata (RFC 8414) and OpenID Provider metadata (OpenID Connect
// Discovery 1.0 §3): one document served at both well-known addresses.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { Services } from '../../services.js';
import { PERMISSION_NAMES } from '../../connectors/permissions.js';
import { SIGNING_ALG } from '../../keys/signing-keys.js';
import { GRANT_TYPES } from '../client-metadata.js';
import { OIDC_SCOPES, ZAIKIO_SCOPES } from '../scopes.js';

const Strings = { type: 'array', items: { type: 'string' } } as const;
const Metadata = {
  type: 'object',
  properties: {
    issuer: { type: 'string' }, authorization_endpoint: { type: 'string' }, token_endpoint: { type: 'string' }, jwks_uri: { type: 'string' },
    userinfo_endpoint: { type: 'string' }, revocation_endpoint: { type: 'string' }, introspection_endpoint: { type: 'string' },
    response_types_supported: Strings, response_modes_supported: Strings, grant_types_supported: Strings,
    token_endpoint_auth_methods_supported: Strings, revocation_endpoint_auth_methods_supported: Strings,
    introspection_endpoint_auth_methods_supported: Strings, code_challenge_methods_supported: Strings, scopes_supported: Strings,
    subject_types_supported: Strings, id_token_signing_alg_values_supported: Strings, claims_supported: Strings,
    prompt_values_supported: Strings, authorization_response_iss_parameter_supported: { type: 'boolean' },
  },
  required: [
    'issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri',
    'userinfo_endpoint', 'revocation_endpoint', 'introspection_endpoint',
    'response_types_supported', 'response_modes_supported', 'grant_types_supported',
    'token_endpoint_auth_methods_supported', 'revocation_endpoint_auth_methods_supported',
    'introspection_endpoint_auth_methods_supported', 'code_challenge_methods_supported', 'scopes_supported',
    'subject_types_supported', 'id_token_signing_alg_values_supported', 'claims_supported',
    'prompt_values_supported', 'authorization_response_iss_parameter_supported',
  ],
} as const;

export function metadata(issuer: string) {
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    userinfo_endpoint: `${issuer}/oauth/userinfo`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [...GRANT_TYPES],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: [...OIDC_SCOPES, ...PERMISSION_NAMES, ...ZAIKIO_SCOPES],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [SIGNING_ALG],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'azp', 'name', 'email', 'email_verified', 'phone_number', 'phone_number_verified'],
    prompt_values_supported: ['none', 'login', 'consent', 'create', 'signup'],
    // RFC 9207: authorization responses carry iss, so clients can tell issuers apart (mix-up defence).
    authorization_response_iss_parameter_supported: true,
  };
}

export async function discoveryEndpoints(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    r.get(path, { schema: { response: { 200: Metadata } } }, async (_req, reply) => {
      void reply.header('cache-control', 'public, max-age=300');
      return metadata(services.deps.config.publicUrl);
    });
  }
}
