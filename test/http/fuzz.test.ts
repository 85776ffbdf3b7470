// Property-based fuzzing of every registered route (read from the app, so a new route is covered
// without editing this file): generated methods, paths, query strings, headers, content types,
// bodies and sizes, with and without valid credentials. For every answer:
// - no 5xx;
// - a failure (4xx) has the documented shape of the surface its path belongs to;
// - a 429 carries Retry-After;
// - a refused request wrote nothing (every table compared before and after).
// Bounded in time; FUZZ_SEED=<n> replays a run (the seed is printed on failure), FUZZ_RUNS sets its length.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { dumpAllTables } from '../helpers/db.js';
import { ALL_PERMISSIONS, accessToken, seedConnectorFlow } from '../helpers/portal.js';
import { domainToken, seedDomain } from '../kandy/setup.js';
import { basic, tokenRequest } from '../oauth/helpers.js';
import { surfaceOf } from '../../src/http/surfaces.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
const TIME_LIMIT_MS = 30_000;

/** Field names the routes take, so generated bodies and queries reach past "unknown field". */
const FIELDS = [
  'message', 'members', 'name', 'welcomeMessage', 'groupType', 'subscribers', 'eventTypes', 'callBackUrl', 'callBackToken', 'callBackContext',
  'validity', 'Active', 'objectId', 'objectType', 'limit', 'cursor', 'user_id', 'user_country_code', 'user_email', 'user_password',
  'user_first_name', 'domain_name', 'project_name', 'key', 'domain_api_secret', 'account_api_secret', 'user_api_secret', 'apiKey',
  'apiSecret', 'domainName', 'userId', 'countryCode', 'email', 'password', 'next', 'phone', 'pin', 'orgId', 'role', 'permissions',
  'connectorId', 'connectorIdManual', 'description', 'redirectUris', 'clientType', 'grantTypes', 'grant_type', 'code', 'redirect_uri',
  'code_verifier', 'refresh_token', 'scope', 'client_id', 'client_secret', 'token', 'token_type_hint', 'response_type', 'state',
  'code_challenge', 'code_challenge_method', 'prompt', 'login_hint', 'max_age', 'nonce', 'decision', 'current_password', 'new_password',
];
const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain', 'text/xml',
  'multipart/form-data; boundary=xyz', 'application/octet-stream', 'application/json; charset=utf-16', '*/*', 'json', ';;;', '',
];
const MALFORMED = ['{bad', '[', '{"a":', '"', 'null', '{}}', '\u0000', '%ff=%zz&&=', 'a=1&a=2&a[]=3', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}'];

interface Material {
  ids: string[];
  kaizala: string;
  /** An OAuth access token (client credentials): the directory API's bearer. */
  oauth: string;
  domainToken: string;
  accountToken: string;
  cookie: string;
  csrf: string;
}

/** A value in a path segment: a real id, noise, broken percent-encoding, or too long. */
const segment = (m: Material) => fc.oneof(
  { arbitrary: fc.constantFrom(...m.ids), weight: 6 },
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom('%ff', '%', '%00', '..%2f..', '%2e%2e', 'a%20b', '-', '0'),
  fc.integer({ min: 60, max: 300 }).map((n) => 'a'.repeat(n)),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
);

const scalar = fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ unit: 'binary', maxLength: 10 }));
const fieldValue = fc.oneof(scalar, fc.array(scalar, { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 5 }), scalar, { maxKeys: 3 }), fc.string({ minLength: 3000, maxLength: 5000 }));
const fields = fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 10 })), fieldValue, { maxKeys: 6 });

const formOf = (obj: Record<string, unknown>, csrf: string | undefined) => {
  const p = new URLSearchParams();
  if (csrf !== undefined) p.append('_csrf', csrf);
  for (const [k, v] of Object.entries(obj)) for (const item of Array.isArray(v) ? v : [v]) p.append(k, typeof item === 'string' ? item : JSON.stringify(item));
  return p.toString();
};

/** Null most of the time, a value one time in eight. */
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.oneof({ arbitrary: fc.constant(null), weight: 7 }, { arbitrary: arb, weight: 1 });

interface FuzzRequest { method: string; url: string; headers: Record<string, string>; payload?: string }

function requests(routes: readonly { method: string; url: string }[], m: Material): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    route: fc.constantFrom(...routes),
    otherMethod: rarely(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD')),
    segments: fc.array(segment(m), { minLength: 4, maxLength: 4 }),
    suffix: rarely(fc.constantFrom('/', '/x', '%ff', '/..', '//')),
    query: fc.option(fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 8 })), fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(m.domainToken, m.accountToken, '%ff')), { maxKeys: 4 })),
    auth: fc.constantFrom('none', 'valid', 'valid', 'valid', 'junk'),
    withCsrf: fc.boolean(),
    // null: the content type that fits the body (JSON for JSON, a form for a form), as most clients send.
    contentType: fc.option(fc.constantFrom(...CONTENT_TYPES), { freq: 2 }),
    body: fc.oneof(
      fc.constant(undefined),
      fields.map((f) => ({ kind: 'json' as const, value: f })),
      fields.map((f) => ({ kind: 'form' as const, value: f })),
      fc.jsonValue({ maxDepth: 3 }).map((v) => ({ kind: 'raw' as const, value: JSON.stringify(v) })),
      fc.constantFrom(...MALFORMED).map((v) => ({ kind: 'raw' as const, value: v })),
      fc.integer({ min: 1, max: 300 }).map((n) => ({ kind: 'raw' as const, value: `{"a":${'['.repeat(n)}` })),
      fc.constant({ kind: 'raw' as const, value: 'x'.repeat(300 * 1024) }),
    ),
    extra: fc.option(fc.record({
      'idempotency-key': fc.oneof(fc.string({ maxLength: 20 }), fc.constant('k'.repeat(300))),
      origin: fc.constantFrom('https://evil.example', 'null', 'http://tessera.test'),
      accept: fc.constantFrom('text/html', 'application/json', '*/*'),
    }, { requiredKeys: [] })),
  }).map(({ route, otherMethod, segments, suffix, query, auth, withCsrf, contentType, body, extra }) => {
    let i = 0;
    let url = route.url.replace(/:[A-Za-z]+/g, () => segments[i++ % segments.length]!) + (suffix ?? '');
    if (query) url += `?${Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${v === '%ff' ? v : encodeURIComponent(v)}`).join('&')}`;
    // Dot segments resolved as every HTTP client (and inject) resolves them, so the surface is judged by what the server sees.
    if (URL.canParse(`http://x${url}`)) {
      const seen = new URL(`http://x${url}`);
      url = seen.pathname + seen.search;
    }
    const headers: Record<string, string> = {};
    const surface = surfaceOf(url);
    if (auth !== 'none') {
      const valid = auth === 'valid';
      if (url.startsWith('/v1/')) headers.accesstoken = valid ? m.kaizala : 'eyJhbGciOiJub25lIn0.e30.';
      else if (surface === 'zaikio') headers.authorization = `Bearer ${valid ? m.oauth : 'eyJhbGciOiJub25lIn0.e30.'}`;
      else if (url.startsWith('/api/')) headers.authorization = `Bearer ${valid ? m.domainToken : 'DAT0'}`;
      else if (surface === 'kandy') headers.authorization = `Bearer ${valid ? m.accountToken : 'AAT0'}`;
      else if (surface === 'oauth') headers.authorization = valid ? 'Basic Og==' : 'Basic !!!';
      else headers.cookie = valid ? m.cookie : 'tessera_session=tss_nope';
    }
    let payload: string | undefined;
    if (body?.kind === 'json') payload = JSON.stringify(withCsrf ? { _csrf: m.csrf, ...body.value } : body.value);
    else if (body?.kind === 'form') payload = formOf(body.value, withCsrf ? m.csrf : undefined);
    else if (body) payload = body.value;
    if (contentType !== null) headers['content-type'] = contentType;
    else if (body) headers['content-type'] = body.kind === 'form' ? 'application/x-www-form-urlencoded' : 'application/json';
    return { method: otherMethod ?? route.method, url, headers: { ...headers, ...(extra ?? {}) }, ...(payload !== undefined ? { payload } : {}) };
  });
}

/** The failure shape each surface documents (docs/architecture.md, docs/kandy.md). */
function assertShape(req: FuzzRequest, res: LightMyRequestResponse): void {
  const where = `${req.method} ${req.url.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
  assert.ok(res.statusCode < 500, `no 5xx: ${where}`);
  if (res.statusCode === 429) assert.match(String(res.headers['retry-after']), /^[1-9][0-9]*$/, `429 without Retry-After: ${where}`);
  if (res.statusCode < 400 || req.method === 'HEAD') return;
  const surface = surfaceOf(req.url);
  if (surface === 'pages') {
    assert.match(String(res.headers['content-type']), /^text\/html/, `an HTML page: ${where}`);
    assert.match(res.body, /<div class="error" role="alert">/, `an error page: ${where}`);
    return;
  }
  const body = JSON.parse(res.body) as Record<string, unknown>;
  if (surface === 'api') {
    const e = body.error as Record<string, unknown> | undefined;
    assert.ok(e && typeof e.code === 'string' && typeof e.message === 'string' && Object.keys(body).length === 1, `{error: {code, message}}: ${where}`);
  } else if (surface === 'zaikio') {
    const e = body.errors;
    const ok = Array.isArray(e) ? e.length > 0 && e.every((x) => typeof x === 'string')
      : !!e && typeof e === 'object' && Object.values(e).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'));
    assert.ok(ok && Object.keys(body).length === 1, `{errors: [...]}: ${where}`);
  } else if (surface === 'kandy') {
    assert.ok(body.result === null && Number.isInteger(body.status) && body.status !== 0 && typeof body.message === 'string', `Kandy envelope: ${where}`);
  } else {
    assert.ok(typeof body.error === 'string' && typeof body.error_description === 'string', `OAuth error: ${where}`);
  }
}

describe('fuzzing every route', () => {
  let t: TestApp;
  let m: Material;

  before(async () => {
    // Private webhook targets refused: a generated callback URL can never reach into a network.
    t = await createTestApp({}, { webhookAllowPrivateTargets: false });
    const flow = await seedConnectorFlow(t.app, { permissions: [...ALL_PERMISSIONS, 'webhook.read', 'webhook.write'], phone: '+14155550161' });
    const d = await seedDomain(t, { email: 'fuzz-kandy@example.com' });
    const account = await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=${d.accountKey}&account_api_secret=${d.accountSecret}` });
    m = {
      ids: [flow.groupId, flow.orgId, flow.connector.id, d.domainId, 'bob'],
      kaizala: (await accessToken(t.app, flow.connector, flow.refreshToken)).json().accessToken,
      oauth: (await tokenRequest(t.app, { grant_type: 'client_credentials' }, { authorization: basic(flow.connector.id, flow.connector.secret) })).json().access_token,
      domainToken: await domainToken(t.app, d),
      accountToken: account.json().result.account_access_token,
      cookie: `tessera_session=${flow.person.cookie('tessera_session')}`,
      csrf: flow.person.csrf,
    };
  });
  after(async () => { await t.close(); });

  test(`no 5xx, the surface's error shape, nothing written by a refused request (seed ${SEED})`, async (ctx) => {
    const routes = t.routes;
    assert.ok(routes.length > 80, `the app's routes were read (${routes.length})`);
    let tables = (await dumpAllTables(t.db)).dump;
    let sent = 0;
    const statuses = new Map<number, number>();
    const property = fc.asyncProperty(requests(routes, m), async (req) => {
      sent++;
      const res = await t.app.inject({ method: req.method as 'GET', url: req.url, headers: req.headers, ...(req.payload !== undefined ? { payload: req.payload } : {}) });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      assertShape(req, res);
      const now = (await dumpAllTables(t.db)).dump;
      if (res.statusCode >= 400) assert.equal(now, tables, `a refused request wrote: ${req.method} ${req.url.slice(0, 200)} → ${res.statusCode}`);
      tables = now;
    });
    try {
      await fc.assert(property, { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false, includeErrorInReport: true });
    } catch (err) {
      ctx.diagnostic(`replay with FUZZ_SEED=${SEED}`);
      throw err;
    }
    ctx.diagnostic(`${sent} requests over ${routes.length} routes, seed ${SEED}; statuses ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`);
  });
});
