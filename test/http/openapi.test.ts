// The OpenAPI 3.1 document: valid (checked by an OpenAPI schema validator), covering every route
// of every API surface and none of the portal's pages, each operation tagged with its surface,
// its security scheme and its error answer; answers real requests get match the schemas the
// document gives for them (a contract check); the reference page at /docs is served from the
// package, with no third-party address.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { documentAjv, openApiPath } from '../helpers/contract.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { accessToken, seedConnectorFlow } from '../helpers/portal.js';
import { basic, tokenRequest } from '../oauth/helpers.js';
import { documented } from '../../src/openapi/openapi.js';
import { VERSION } from '../../src/version.js';

type Operation = { tags?: string[]; security?: unknown[]; responses: Record<string, { content?: Record<string, { schema: object }> }> };
type OpenApi = { openapi: string; info: { version: string }; paths: Record<string, Record<string, Operation>>; components: { securitySchemes: Record<string, unknown> } };

describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: OpenApi;

  before(async () => {
    t = await createTestApp();
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    doc = res.json() as OpenApi;
  });
  after(async () => { await t.close(); });

  test('is a valid OpenAPI 3.1 document of this version', async () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.info.version, VERSION);
    assert.equal(VERSION, (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
    const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['bearerAuth', 'clientSecretBasic', 'kaizalaAccessToken']);
  });

  test('every route of every API surface is in it, with its surface\'s tag, security and errors; no page is', () => {
    const api = t.routes.filter((r) => documented(r.url, r.method));
    assert.ok(api.length > 50, `${api.length} API routes`);
    for (const r of api) {
      const op = doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()];
      assert.ok(op, `${r.method} ${r.url} is documented`);
      assert.deepEqual(op.tags, [documented(r.url, r.method)!.tag], `${r.method} ${r.url}`);
      assert.ok(Object.keys(op.responses).some((code) => /^[45]/.test(code)), `${r.method} ${r.url} documents its errors`);
      assert.ok(Object.keys(op.responses).some((code) => /^[23]/.test(code)), `${r.method} ${r.url} documents its success`);
      if (documented(r.url, r.method)!.security) assert.deepEqual(op.security, documented(r.url, r.method)!.security);
    }
    const documentedCount = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    assert.equal(documentedCount, api.length, 'nothing else is');
    for (const page of ['/login', '/dashboard', '/orgs/{orgId}', '/account', '/oauth/consent', '/{platform}/login']) assert.equal(doc.paths[page], undefined, page);
  });

  test('the answers of real requests match the schemas documented for them (contract)', async () => {
    const ajv = documentAjv();
    const check = async (method: string, route: string, res: { statusCode: number; body: string; headers: Record<string, unknown> }) => {
      const op = doc.paths[openApiPath(route)]?.[method.toLowerCase()];
      assert.ok(op, `${method} ${route} documented`);
      const documentedAnswer = op.responses[String(res.statusCode)] ?? op.responses[`${String(res.statusCode)[0]}XX`] ?? op.responses.default;
      assert.ok(documentedAnswer, `${method} ${route} documents ${res.statusCode}`);
      const schema = documentedAnswer.content?.['application/json']?.schema;
      if (!schema) return;
      const validate = ajv.compile(schema);
      assert.ok(validate(JSON.parse(res.body)), `${method} ${route} → ${res.statusCode}: ${ajv.errorsText(validate.errors)}\n${res.body.slice(0, 300)}`);
    };
    const s = await seedConnectorFlow(t.app);
    const tokenRes = await accessToken(t.app, s.connector, s.refreshToken);
    await check('GET', '/v1/accessToken', tokenRes);
    await check('GET', '/v1/accessToken', await accessToken(t.app, { id: s.connector.id, secret: 'tcs_wrong' }, s.refreshToken));
    const headers = { accessToken: tokenRes.json().accessToken as string };
    await check('GET', '/v1/groups/:groupId', await t.app.inject({ method: 'GET', url: `/v1/groups/${s.groupId}`, headers }));
    await check('GET', '/v1/groups/:groupId/members', await t.app.inject({ method: 'GET', url: `/v1/groups/${s.groupId}/members`, headers }));
    await check('POST', '/v1/groups/:groupId/messages', await t.app.inject({ method: 'POST', url: `/v1/groups/${s.groupId}/messages`, headers, payload: { message: 'contract' } }));
    await check('POST', '/v1/groups/:groupId/messages', await t.app.inject({ method: 'POST', url: `/v1/groups/${s.groupId}/messages`, headers, payload: { message: 12 } }));
    await check('GET', '/v1/groups/:groupId/messages', await t.app.inject({ method: 'GET', url: `/v1/groups/${s.groupId}/messages`, headers }));
    const cc = await tokenRequest(t.app, { grant_type: 'client_credentials' }, { authorization: basic(s.connector.id, s.connector.secret) });
    await check('POST', '/oauth/token', cc);
    await check('POST', '/oauth/token', await tokenRequest(t.app, { grant_type: 'client_credentials' }, { authorization: basic(s.connector.id, 'wrong') }));
    await check('GET', '/.well-known/openid-configuration', await t.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' }));
    await check('GET', '/.well-known/jwks.json', await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' }));
    await check('GET', '/api/v1/jwt_public_keys', await t.app.inject({ method: 'GET', url: '/api/v1/jwt_public_keys' }));
    await check('GET', '/api/v1/person', await t.app.inject({ method: 'GET', url: '/api/v1/person' }));
    await check('GET', '/healthz', await t.app.inject({ method: 'GET', url: '/healthz' }));
    await check('GET', '/v1.2/accounts/accesstokens', await t.app.inject({ method: 'GET', url: '/v1.2/accounts/accesstokens?key=nope&account_api_secret=nope' }));
  });

  test('the examples the document shows are valid answers: each matches the schema it illustrates', () => {
    const ajv = documentAjv();
    const checked: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`));
      if (!node || typeof node !== 'object') return;
      const schema = node as { examples?: unknown[]; example?: unknown; schema?: object } & Record<string, unknown>;
      const check = (against: object, example: unknown) => {
        const validate = ajv.compile({ ...against, examples: undefined });
        assert.ok(validate(example), `${where}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(example)}`);
        checked.push(where);
      };
      // A schema's own examples; a media type's example (where @fastify/swagger moves a response schema's).
      if (Array.isArray(schema.examples) && ('type' in schema || 'properties' in schema)) for (const e of schema.examples) check(schema, e);
      if (schema.schema && 'example' in schema) check(schema.schema, schema.example);
      for (const [k, v] of Object.entries(schema)) if (k !== 'examples') walk(v, `${where}.${k}`);
    };
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) walk(op.responses, `${method.toUpperCase()} ${path}`);
    }
    // The surfaces' error shapes and the main answers of each API carry one.
    for (const expected of ['GET /v1/accessToken', 'GET /v1/groups/{groupId}/members', 'POST /oauth/token', 'POST /v1.2/domains/users/user_id']) {
      assert.ok(checked.some((w) => w.startsWith(`${expected}.200`)), `${expected} shows a success example`);
    }
  });

  test('every suite\'s answers are held to the document: a drift fails the suite when its app closes', async () => {
    const drifted = await createTestApp();
    try {
      // As if the code had stopped sending a field the document promises.
      const health = (drifted.app.swagger() as unknown as OpenApi).paths['/healthz']!.get!.responses['200']!.content!['application/json']! as { schema: object };
      health.schema = { type: 'object', required: ['uptime'] };
      assert.equal((await drifted.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the answer itself is untouched');
      // A status the route does not document is a drift too (here: none of 2XX is documented for it).
      delete (drifted.app.swagger() as unknown as OpenApi).paths['/readyz']!.get!.responses['200'];
      await drifted.app.inject({ method: 'GET', url: '/readyz' });
    } finally {
      await assert.rejects(drifted.close(), (err: Error) => {
        assert.equal(err.message.split('\n').filter((l) => /→/.test(l)).sort().join('\n'),
          "GET /healthz → 200: data must have required property 'uptime'\nGET /readyz → 200: status not documented");
        return true;
      });
    }
  });

  test('the reference page at /docs is served from the package: no third-party address', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/docs' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /swagger-ui/);
    const addresses = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(addresses.length > 0);
    for (const a of addresses) assert.ok(!/^(https?:)?\/\//.test(a), `${a} is served by Tessera`);
    const init = await t.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    assert.equal(init.statusCode, 200);
    assert.equal((await t.app.inject({ method: 'GET', url: '/docs/json' })).json().openapi, '3.1.0');
  });
});
