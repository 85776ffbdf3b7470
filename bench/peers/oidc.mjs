// The peer: oidc-provider from npm, unmodified, with its default in-memory adapter and one
// confidential client allowed the client_credentials grant. By default it issues ES256 JWT access
// tokens (resource indicators with a default resource), which is the same work Tessera does per
// token: one ECDSA P-256 signature. OIDC_TOKEN_FORMAT=opaque keeps the library's default opaque
// tokens (stored in the in-memory adapter) instead.
// Plain JavaScript (no tsx loader) so its RSS is what the library itself costs.
import { generateKeyPairSync } from 'node:crypto';
import process from 'node:process';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? 0);
const issuer = process.env.PUBLIC_URL ?? `http://127.0.0.1:${port}`;
const jwt = (process.env.OIDC_TOKEN_FORMAT ?? 'jwt') === 'jwt';
const resource = 'urn:tessera:bench:api';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID ?? 'bench-client',
    client_secret: process.env.OIDC_CLIENT_SECRET ?? 'bench-client-secret-0123456789abcdef',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
    // Only an EC key is configured, so the (unused) ID token algorithm must match it.
    id_token_signed_response_alg: 'ES256',
    scope: 'api:read api:write',
  }],
  scopes: ['api:read', 'api:write'],
  ttl: { ClientCredentials: 24 * 3600 },
  jwks: { keys: [jwk] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: jwt,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api:read api:write',
        audience: resource,
        accessTokenTTL: 24 * 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});
// Errors are part of what the benchmark counts; keep stderr quiet otherwise.
provider.on('server_error', (_ctx, err) => process.stderr.write(`${err.stack ?? err}\n`));

const server = provider.listen(port, process.env.HOST ?? '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close(() => process.exit(0)));
