// The peer: oidc-provider from npm, unmodified, with one confidential client allowed the
// client_credentials and refresh_token grants. By default it issues ES256 JWT access tokens
// (resource indicators with a default resource), which is the same work Tessera does per token:
// one ECDSA P-256 signature. OIDC_TOKEN_FORMAT=opaque keeps the library's default opaque tokens
// instead.
//
// Storage is a plain Map (below): the library's own in-memory adapter is an LRU of 1,000 entries,
// too few for thousands of refresh-token families, and any real adapter (Redis, a database) would
// only be slower — the peer gets the fastest storage there is. Refresh tokens rotate on every use
// (rotateRefreshToken: true), as Tessera's do. With OIDC_REFRESH_TOKENS=n and
// OIDC_REFRESH_TOKENS_FILE, n grants with one refresh token each are minted at start through the
// library's own models (what its authorization-code flow would store) and written to the file.
// Plain JavaScript (no tsx loader) so its RSS is what the library itself costs.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import process from 'node:process';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? 0);
const issuer = process.env.PUBLIC_URL ?? `http://127.0.0.1:${port}`;
const jwt = (process.env.OIDC_TOKEN_FORMAT ?? 'jwt') === 'jwt';
const resource = 'urn:tessera:bench:api';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'ES256', use: 'sig' };

/** oidc-provider's adapter interface over one Map per model, without eviction. */
const stores = new Map();
class MapAdapter {
  constructor(model) {
    if (!stores.has(model)) stores.set(model, new Map());
    this.store = stores.get(model);
    this.grants = stores.get('grant-index') ?? new Map();
    stores.set('grant-index', this.grants);
  }
  async upsert(id, payload) {
    this.store.set(id, payload);
    if (payload.grantId) {
      const ids = this.grants.get(payload.grantId) ?? [];
      ids.push([this.store, id]);
      this.grants.set(payload.grantId, ids);
    }
  }
  async find(id) { return this.store.get(id); }
  async findByUid(uid) { for (const p of this.store.values()) if (p.uid === uid) return p; return undefined; }
  async findByUserCode(code) { for (const p of this.store.values()) if (p.userCode === code) return p; return undefined; }
  async consume(id) { const p = this.store.get(id); if (p) p.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { this.store.delete(id); }
  async revokeByGrantId(grantId) {
    for (const [store, id] of this.grants.get(grantId) ?? []) store.delete(id);
    this.grants.delete(grantId);
  }
}

const clientId = process.env.OIDC_CLIENT_ID ?? 'bench-client';
const provider = new Provider(issuer, {
  adapter: MapAdapter,
  findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
  rotateRefreshToken: true,
  clients: [{
    client_id: clientId,
    client_secret: process.env.OIDC_CLIENT_SECRET ?? 'bench-client-secret-0123456789abcdef',
    grant_types: ['client_credentials', 'refresh_token', 'authorization_code'],
    redirect_uris: ['http://127.0.0.1/cb'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    // Only an EC key is configured, so the (unused) ID token algorithm must match it.
    id_token_signed_response_alg: 'ES256',
    scope: 'api:read api:write',
  }],
  scopes: ['openid', 'offline_access', 'api:read', 'api:write'],
  ttl: { AccessToken: 24 * 3600, ClientCredentials: 24 * 3600, RefreshToken: 30 * 24 * 3600, Grant: 30 * 24 * 3600 },
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

const minted = Number(process.env.OIDC_REFRESH_TOKENS ?? 0);
if (minted > 0) {
  const client = await provider.Client.find(clientId);
  const tokens = [];
  for (let i = 0; i < minted; i++) {
    const accountId = `bench-user-${i}`;
    const grant = new provider.Grant({ accountId, clientId });
    grant.addResourceScope(resource, 'api:read');
    const grantId = await grant.save();
    tokens.push(await new provider.RefreshToken({ accountId, client, grantId, scope: 'api:read', resource, gty: 'authorization_code' }).save());
  }
  writeFileSync(process.env.OIDC_REFRESH_TOKENS_FILE, JSON.stringify(tokens));
}

const server = provider.listen(port, process.env.HOST ?? '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close(() => process.exit(0)));
