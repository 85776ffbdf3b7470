// Seeding for the OAuth scenarios (2 and 3), which exist once Tessera has /oauth/token (issue 3).
// Connectors are OAuth clients (client_id = connector id, client_secret = connector secret, every
// grant type allowed by default since migration 0100), so client_credentials needs nothing more.
// The refresh_token grant needs refresh tokens, which normally come out of the authorization-code
// flow (a person logging in and consenting in a browser); they are written straight into the
// OAuth server's tables instead: the first link of each family's chain, made by the same function
// the server uses (src/oauth/refresh-token-format.ts).
import { newId } from '../src/lib/ids.js';
import { mintRefreshToken } from '../src/oauth/refresh-token-format.js';
import { openSink, type SeededGrant } from './seed.js';
import type { OAuthClient } from './scenarios.js';

export interface OAuthSeed {
  /** client_credentials: one client per connector. */
  clients: OAuthClient[];
  /** refresh_token: separate families for each round's warm-up and measured run (see scenarios.ts). */
  refresh: { warmup: OAuthClient[]; measure: OAuthClient[] }[];
  scope: string;
}

const SCOPE = 'groupinfo.read';

export async function seedOAuth(opts: {
  databaseUrl: string;
  databaseSchema?: string;
  grants: SeededGrant[];
  ownerId: string;
  /** How many Tessera processes are measured in turn, each with its own families. */
  rounds: number;
}): Promise<OAuthSeed | { unavailable: string }> {
  const clients: OAuthClient[] = opts.grants.map((g) => ({ clientId: g.connectorId, clientSecret: g.connectorSecret }));
  const sink = await openSink(opts);
  const now = Date.now();
  const refresh: OAuthClient[] = [];
  try {
    const families: unknown[][] = [];
    const links: unknown[][] = [];
    for (const c of Array.from({ length: opts.rounds }, () => clients).flat()) {
      const familyId = newId();
      const { token, link } = mintRefreshToken(now, 30 * 24 * 3600 * 1000);
      families.push([familyId, c.clientId, opts.ownerId, SCOPE, now, now]);
      links.push([link.id, familyId, link.token_hash, link.created_at, link.expires_at]);
      refresh.push({ ...c, refreshToken: token });
    }
    await sink.insert('oauth_families', ['id', 'connector_id', 'user_id', 'scope', 'auth_time', 'created_at'], families);
    await sink.insert('oauth_refresh_links', ['id', 'family_id', 'token_hash', 'created_at', 'expires_at'], links);
  } catch (err) {
    return { unavailable: `could not seed OAuth refresh tokens (${(err as Error).message})` };
  } finally {
    await sink.close();
  }
  // Each round: a quarter of its clients' families to warm up with, the rest measured.
  const rounds = Array.from({ length: opts.rounds }, (_, r) => {
    const mine = refresh.slice(r * clients.length, (r + 1) * clients.length);
    const warm = Math.floor(mine.length / 4);
    return { warmup: mine.slice(0, warm), measure: mine.slice(warm) };
  });
  return { clients, refresh: rounds, scope: SCOPE };
}
