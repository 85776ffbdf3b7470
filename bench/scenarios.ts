// The scenarios of issue 5. Each builds autocannon options for its warm-up and its measured run;
// requests are spread over every seeded connector and grant (in a shuffled order), so caches see
// a realistic working set rather than one hot key.
import type { Options, Request } from 'autocannon';
import { cycler } from './load.js';
import type { SeededGrant } from './seed.js';
import type { OAuthSeed } from './oauth.js';

/**
 * `tessera-no-metrics`: the same Tessera with METRICS=off, started only for its scenario;
 * `tessera-2w`: the same Tessera with `--workers 2`, measured in turn with `tessera` in every scenario;
 * `tessera-versus`: the same Tessera with `--versus`'s environment (a change to judge), likewise.
 */
export type ServerName = 'tessera' | 'tessera-2w' | 'tessera-versus' | 'tessera-no-metrics' | 'oidc-provider' | 'ceiling';
/** A run's part: the pass over the pool (Scenario.prime), the timed warm-up, the measured run. */
export type Phase = 'prime' | 'warmup' | 'measure';

export interface Scenario {
  id: string;
  title: string;
  server: ServerName;
  /** Which target applies: token scenarios against oidc-provider, the read against the ceiling. */
  kind: 'token' | 'read' | 'write' | 'peer' | 'ceiling';
  /** Set when the scenario cannot run here, with the reason; it is reported, not skipped silently. */
  unavailable?: string;
  /** What the scenario is compared with: the oidc-provider scenario doing the same grant, or the ceiling for the read. */
  peer?: string;
  /** `round` 0 is the single-process Tessera, 1 the one with two workers (their pools differ where tokens are spent). */
  options(phase: Phase, round: number): Omit<Options, 'url'>;
  /**
   * Requests for one pass over the warm-up pool, made before the timed warm-up: every grant,
   * client or group is then in the server's caches whatever its cold rate, so the measured run is
   * the steady state on both databases. (A timed warm-up alone covered the 10,000 grants on
   * SQLite, but on PostgreSQL, where a cold read is three round trips, it reached a third of them.)
   */
  prime?(): number;
  /** That pass's requests where they cannot be the `prime` phase's options (a refresh spends what it presents). */
  primeOptions?(round: number): Omit<Options, 'url'>;
}

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  /** OAuth refresh tokens, when the refresh_token grant can be benchmarked. */
  refreshToken?: string;
}

export interface ScenarioInputs {
  grants: SeededGrant[];
  /** Access tokens by grant id, from the token service. */
  accessTokens: Map<string, string>;
  oidcClient: { id: string; secret: string };
  /** OAuth clients seeded for /oauth/token; undefined when Tessera has no OAuth server. */
  oauth?: OAuthSeed | undefined;
  oauthUnavailable?: string;
  /** oidc-provider's refresh tokens (bench/peers/oidc.mjs mints them), for the warm-up and the measured run. */
  oidcRefresh: { warmup: string[]; measure: string[] };
}

/** Deterministic Fisher–Yates shuffle (a fixed seed keeps runs comparable). */
export function shuffled<T>(items: readonly T[], seed = 42): T[] {
  const out = [...items];
  let s = seed >>> 0;
  const rand = (): number => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const basic = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

const FORM = 'application/x-www-form-urlencoded';

/** A request whose headers, path and body come from the next item of a cycle. */
function spread<T>(next: () => T, build: (item: T) => Request): Request {
  return { setupRequest: (req) => ({ ...req, ...build(next()) }) };
}

/**
 * Refresh tokens that rotate on every use: the client adopts each answer's successor. A request
 * still in flight when a run stops (autocannon stops at its duration and drops what is pending)
 * may have spent its token with the answer never read, and presenting that token again would be
 * a reuse, which revokes the family (RFC 9700). So the pool remembers what is in flight, and
 * whatever a run left in flight is never sent again. A --large run measures in slices, so the
 * same pool serves several runs.
 */
class RotatingPool<T extends object> {
  private readonly inFlight = new Set<T>();
  private readonly spent = new Set<T>();

  constructor(private readonly items: readonly T[]) {}

  /** A request spreading this pool's items over a run, adopting each answer's refresh token. */
  spread(build: (item: T) => Request, adopt: (item: T, refreshToken: string) => void): Request {
    for (const item of this.inFlight) this.spent.add(item);
    this.inFlight.clear();
    const next = cycler(shuffled(this.items.filter((item) => !this.spent.has(item))));
    return {
      setupRequest: (req, ctx) => {
        const item = next();
        this.inFlight.add(item);
        ctx.item = item;
        return { ...req, ...build(item) };
      },
      onResponse: (status, body, ctx) => {
        const item = ctx.item as T;
        this.inFlight.delete(item);
        // Found without parsing the whole body: the load generator shares the machine, and every
        // microsecond it spends is the server's loss.
        const at = status === 200 ? body.indexOf('"refresh_token":"') : -1;
        if (at < 0) return;
        const start = at + '"refresh_token":"'.length;
        adopt(item, body.slice(start, body.indexOf('"', start)));
      },
    };
  }
}

// Every scenario, the peers' included, builds each request in setupRequest (autocannon's
// `requests` array): building a request per call costs the load generator more than replaying a
// fixed one, and on a machine the generator shares with the server that cost must be the same for
// every server compared.
export function buildScenarios(inp: ScenarioInputs): Scenario[] {
  // Access tokens are issued after scenario 1, so this list is made when a scenario starts.
  const withTokens = (): SeededGrant[] => inp.grants.filter((g) => inp.accessTokens.has(g.grantId));
  const oauthCc = inp.oauth?.clients ?? [];
  const oauthRt = inp.oauth?.refresh[0]?.measure ?? [];
  // One pool per round and phase for the whole run: its tokens rotate as it goes.
  const pools = new Map<string, unknown>();
  const pooled = <T extends object>(key: string, make: () => T[]): RotatingPool<T> => {
    if (!pools.has(key)) pools.set(key, new RotatingPool(make()));
    return pools.get(key) as RotatingPool<T>;
  };
  // A pass before the warm-up that spent tokens would spend the warm-up's (none does: the refresh
  // grant's pass introspects, and oidc-provider's is not primed).
  const spending = (phase: Phase) => (phase === 'prime' ? 'warmup' : phase);
  const oauthRefresh = (round: number, phase: Phase) => pooled(`oauth ${round} ${spending(phase)}`, () => inp.oauth!.refresh[round]![spending(phase)]);
  const oidcRefresh = (phase: Phase) => pooled(`oidc ${spending(phase)}`, () => inp.oidcRefresh[spending(phase)].map((token) => ({ token })));
  // A measurement in slices asks for its options once a slice: each cycle goes on where the last
  // slice left it, so a run reaches every grant (every one due for rotation included) as one long run would.
  // Each round has cycles of its own. A priming pass gets a fresh cycle every time, so that it
  // covers the whole pool whatever else is primed at the same time.
  const cycles = new Map<string, () => unknown>();
  const cycle = <T>(key: string, items: () => readonly T[]): (() => T) => {
    if (key.startsWith('prime ')) return cycler(shuffled(items()));
    if (!cycles.has(key)) cycles.set(key, cycler(shuffled(items())));
    return cycles.get(key) as () => T;
  };
  const needsOAuth = (pool: OAuthClient[], missing: string): Pick<Scenario, 'unavailable'> => {
    const reason = inp.oauthUnavailable ?? (pool.length ? undefined : missing);
    return reason ? { unavailable: reason } : {};
  };
  /** Scenario 4's requests: each grant's member list with its access token. */
  const platformRead = (phase: Phase, round: number) => ({
    requests: [spread(cycle(`${phase} platform-read ${round}`, withTokens), (g) => ({
      method: 'GET',
      path: `/v1/groups/${g.groupId}/members`,
      headers: { authorization: `Bearer ${inp.accessTokens.get(g.grantId)!}` },
    }))],
  });

  return [
    {
      id: 'token-exchange',
      title: '1. Refresh-token exchange GET /v1/accessToken',
      server: 'tessera',
      kind: 'token',
      peer: 'oidc-provider-refresh',
      prime: () => inp.grants.filter((g) => g.dueInRound === undefined).length,
      options(phase, round) {
        // The warm-up leaves the grants whose refresh token is due alone, so that every rotation
        // (a compare-and-set write) happens inside the measured run, once per due grant. Each
        // measured Tessera has due grants of its own, as many as the other's: rotations write
        // `grants` and so empty its caches, and a run without them would not be the same work.
        const pool = () => inp.grants.filter((g) => g.dueInRound === undefined || (phase === 'measure' && g.dueInRound === round));
        return {
          // No onResponse: reading every body would load the load generator, not the server.
          // A client that keeps presenting the rotated-out token is served from the "previous
          // token" slot until its own expiry; rotations are counted in the database afterwards.
          requests: [spread(cycle(`${phase} token-exchange ${round}`, pool), (g) => ({
            method: 'GET',
            path: '/v1/accessToken',
            headers: { applicationid: g.connectorId, applicationsecret: g.connectorSecret, refreshtoken: g.refreshToken },
          }))],
        };
      },
    },
    {
      id: 'oauth-refresh',
      title: '2. refresh_token grant POST /oauth/token',
      server: 'tessera',
      kind: 'token',
      ...needsOAuth(oauthRt, 'no OAuth refresh tokens could be seeded'),
      peer: 'oidc-provider-refresh',
      // The measured families' tokens read once without being spent: introspection (RFC 7662)
      // seeks the link, its family and whether a link spends it, as the refresh does. Their rows
      // were last read by the seed and the warm-up spends families of its own; without this pass
      // the large seed's measured run began fetching back from storage the pages this host's
      // kernel drops after a minute unread (docs/performance.md, "Pages the host drops").
      prime: () => oauthRt.length,
      primeOptions: (round) => ({
        requests: [spread(cycler(inp.oauth!.refresh[round]!.measure), (c) => ({
          method: 'POST',
          path: '/oauth/introspect',
          headers: { 'content-type': FORM, authorization: basic(c.clientId, c.clientSecret) },
          body: `token=${encodeURIComponent(c.refreshToken!)}&token_type_hint=refresh_token`,
        }))],
      }),
      options(phase, round) {
        // The warm-up and the measured run have families of their own (RotatingPool).
        return {
          requests: [oauthRefresh(round, phase).spread((c) => ({
            method: 'POST',
            path: '/oauth/token',
            headers: { 'content-type': FORM, authorization: basic(c.clientId, c.clientSecret) },
            body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(c.refreshToken!)}`,
          }), (c, token) => { c.refreshToken = token; })],
        };
      },
    },
    {
      id: 'oauth-client-credentials',
      title: '3. client_credentials POST /oauth/token',
      server: 'tessera',
      kind: 'token',
      ...needsOAuth(oauthCc, 'no OAuth clients could be seeded'),
      peer: 'oidc-provider-client-credentials',
      prime: () => oauthCc.length,
      options(phase, round) {
        return {
          requests: [spread(cycle(`${phase} client-credentials ${round}`, () => oauthCc), (c) => ({
            method: 'POST',
            path: '/oauth/token',
            headers: { 'content-type': FORM, authorization: basic(c.clientId, c.clientSecret) },
            // No scope parameter: the connector's permissions for its own organisation (the
            // documented default; explicit scopes carry the Org/<uuid>. prefix).
            body: 'grant_type=client_credentials',
          }))],
        };
      },
    },
    {
      id: 'oidc-provider-client-credentials',
      title: '3. client_credentials POST /token (oidc-provider)',
      server: 'oidc-provider',
      kind: 'peer',
      options() {
        return {
          requests: [spread(() => inp.oidcClient, (c) => ({
            method: 'POST',
            path: '/token',
            headers: { 'content-type': FORM, authorization: basic(c.id, c.secret) },
            body: 'grant_type=client_credentials&scope=api%3Aread',
          }))],
        };
      },
    },
    {
      id: 'oidc-provider-refresh',
      title: '2. refresh_token grant POST /token (oidc-provider, rotating)',
      server: 'oidc-provider',
      kind: 'peer',
      options(phase) {
        // Its own families for each phase, as scenario 2's.
        return {
          requests: [oidcRefresh(phase).spread((c) => ({
            method: 'POST',
            path: '/token',
            headers: { 'content-type': FORM, authorization: basic(inp.oidcClient.id, inp.oidcClient.secret) },
            body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(c.token)}`,
          }), (c, token) => { c.token = token; })],
        };
      },
    },
    {
      id: 'platform-read',
      title: '4. Platform read GET /v1/groups/{id}/members',
      server: 'tessera',
      kind: 'read',
      peer: 'ceiling',
      prime: () => withTokens().length,
      options: platformRead,
    },
    {
      // The same read on two fresh processes, metrics on and off in turn: what metrics cost (issue 16).
      id: 'platform-read-no-metrics',
      title: '4b. Platform read, METRICS=off (what metrics cost)',
      server: 'tessera-no-metrics',
      kind: 'read',
      prime: () => withTokens().length,
      options: platformRead,
    },
    {
      id: 'platform-write',
      title: '5. Platform write POST /v1/groups/{id}/messages',
      server: 'tessera',
      kind: 'write',
      prime: () => withTokens().length,
      options(phase, round) {
        let n = 0;
        return {
          requests: [spread(cycle(`${phase} platform-write ${round}`, withTokens), (g) => ({
            method: 'POST',
            path: `/v1/groups/${g.groupId}/messages`,
            headers: { authorization: `Bearer ${inp.accessTokens.get(g.grantId)!}`, 'content-type': 'application/json' },
            body: JSON.stringify({ message: `Benchmark message ${++n}: the build on main is green.` }),
          }))],
        };
      },
    },
    {
      id: 'ceiling',
      title: '6. Ceiling: bare node:http, fixed JSON',
      server: 'ceiling',
      kind: 'ceiling',
      options() {
        return { requests: [spread(() => null, () => ({ method: 'GET', path: '/token' }))] };
      },
    },
  ];
}
