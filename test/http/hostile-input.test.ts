// Requests a hostile or careless client sends get a 4xx in the shape of the surface they reached,
// never a 500 and never Fastify's own JSON, and write nothing: malformed, oversized or mistyped
// bodies, JSON values of the wrong type, undecodable URLs, over-long parameters and headers,
// unknown paths.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createTestApp, LogCapture, type TestApp } from '../helpers/app.js';
import { accessToken, PortalClient, seedConnectorFlow } from '../helpers/portal.js';
import { createUser, domainToken, seedDomain } from '../kandy/setup.js';

const errorText = (body: string) => /<div class="error" role="alert">([^<]*)<\/div>/.exec(body)?.[1];
const apiError = (code: string, message: string, field?: string) => ({ error: { code, message, ...(field ? { details: { field } } : {}) } });
const kandy = (status: number, message: string) => ({ result: null, status, message });

/** Sends raw bytes to a listening app and reads the whole answer (Node's parser, not inject). */
function rawRequest(port: number, request: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => { data += chunk.toString('latin1'); });
    socket.on('error', (err) => (data ? undefined : reject(err)));
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n', 2);
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]), type: /content-type: ([^\r]+)/i.exec(head)?.[1] ?? '', body });
    });
    socket.write(request);
  });
}

describe('hostile input', () => {
  let t: TestApp;
  let log: LogCapture;
  let flow: Awaited<ReturnType<typeof seedConnectorFlow>>;
  let auth: Record<string, string>;
  let kandyToken: string;

  before(async () => {
    log = new LogCapture();
    t = await createTestApp({}, {}, { logLevel: 'info', logStream: log.stream });
    flow = await seedConnectorFlow(t.app, { phone: '+14155550131' });
    auth = { accessToken: (await accessToken(t.app, flow.connector, flow.refreshToken)).json().accessToken };
    const d = await seedDomain(t, { email: 'kandy-hostile@example.com' });
    kandyToken = await domainToken(t.app, d);
  });
  after(async () => { await t.close(); });

  const count = async (table: 'messages' | 'group_members' | 'domain_users' | 'users' | 'sessions') =>
    Number((await t.db.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const errorLines = () => log.lines().filter((l) => Number(l.level) >= 50);

  test('portal and consent POSTs with a malformed, foreign or oversized body answer 400/413/415 pages, logged below error', async () => {
    const browser = new PortalClient(t.app);
    await browser.get('/login');
    const cookie = `tessera_anon=${browser.cookie('tessera_anon')}`;
    const form = 'a form (application/x-www-form-urlencoded)';
    const cases: [string, Record<string, string>, string, number, string][] = [
      ['/login', { 'content-type': 'application/json' }, '{bad', 415, `content-type: send ${form}`],
      ['/login', { 'content-type': 'text/xml' }, '<login/>', 415, `content-type: send ${form}`],
      ['/login', {}, 'email=a%40example.com&password=x', 415, `content-type: send ${form}`],
      ['/login', { 'content-type': 'application/x-www-form-urlencoded' }, `_csrf=${browser.csrf}&email=${'a'.repeat(1024 * 1024)}`, 413, 'body: is larger than this endpoint accepts'],
      ['/oauth/consent', { 'content-type': 'application/json' }, '', 415, `content-type: send ${form}`],
      ['/signup', { 'content-type': 'application/json' }, '{"name": "x"}', 415, `content-type: send ${form}`],
    ];
    const users = await count('users');
    for (const [url, headers, payload, status, message] of cases) {
      const res = await t.app.inject({ method: 'POST', url, headers: { cookie, ...headers }, payload });
      assert.equal(res.statusCode, status, `${url} ${JSON.stringify(headers)}`);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.equal(errorText(res.body), message, url);
    }
    assert.equal(await count('users'), users);
    assert.deepEqual(errorLines(), []);
  });

  test('JSON bodies are never type-converted: a field of the wrong type is validation_failed naming it', async () => {
    const messages = await count('messages');
    const members = await count('group_members');
    const cases: [string, string, unknown, string][] = [
      ['POST', `/v1/groups/${flow.groupId}/messages`, { message: true }, 'message: must be string'],
      ['POST', `/v1/groups/${flow.groupId}/messages`, { message: 12345 }, 'message: must be string'],
      ['POST', `/v1/groups/${flow.groupId}/messages`, { message: ['only'] }, 'message: must be string'],
      ['PUT', `/v1/groups/${flow.groupId}/members`, { members: '+14155550188' }, 'members: must be array'],
      ['PUT', `/v1/groups/${flow.groupId}/members`, { members: [14155550188] }, 'members[0]: must be string'],
      ['POST', `/v1/groups/${flow.groupId}/subGroups`, { name: 'Night', members: '+14155550188' }, 'members: must be array'],
    ];
    for (const [method, url, payload, message] of cases) {
      const res = await t.app.inject({ method: method as 'POST', url, headers: auth, payload: payload as object });
      assert.deepEqual([res.statusCode, res.json()], [400, apiError('validation_failed', message, message.split(':')[0])], `${method} ${url} ${JSON.stringify(payload)}`);
    }
    assert.equal(await count('messages'), messages);
    assert.equal(await count('group_members'), members);
    // Query strings are text and still converted: limit=2 is the integer 2.
    const page = await t.app.inject({ method: 'GET', url: `/v1/groups/${flow.groupId}/messages?limit=2`, headers: auth });
    assert.equal(page.statusCode, 200);
  });

  test('Kandy bodies are not converted either, and refuse fields they do not take', async () => {
    const users = await count('domain_users');
    const cases: [unknown, string][] = [
      [{ user_id: 2147483648, user_country_code: '+1' }, 'user_id: must be string'],
      [{ user_id: null, user_country_code: '+1' }, 'user_id: must be string'],
      [{ user_id: 'nan', user_country_code: 1 }, 'user_country_code: must be string'],
      [{ user_id: 'carol', user_country_code: '+1', domain_name: 'other.example.com' }, 'domain_name: is not an accepted field'],
    ];
    for (const [body, message] of cases) {
      const res = await createUser(t.app, kandyToken, body);
      assert.deepEqual([res.statusCode, res.json()], [400, kandy(4, message)], JSON.stringify(body));
    }
    assert.equal(await count('domain_users'), users);
  });

  test('an undecodable URL or an over-long parameter answers in the surface\'s shape', async () => {
    const bad = 'path: is not a valid URL (a percent-encoding is broken)';
    const long = 'path: a path segment is longer than any identifier Tessera issues';
    const cases: [string, string, number, unknown][] = [
      ['GET', '/v1.2/domains/users/%ff', 400, kandy(4, bad)],
      ['GET', `/v1/groups/%ff`, 400, apiError('validation_failed', bad, 'path')],
      ['POST', '/oauth/token%ff', 400, { error: 'invalid_request', error_description: bad }],
      ['GET', `/v1/groups/${'a'.repeat(101)}`, 414, apiError('uri_too_long', long)],
      ['DELETE', `/api/v1/projects/${'a'.repeat(101)}`, 414, apiError('uri_too_long', long)],
    ];
    for (const [method, url, status, body] of cases) {
      const res = await t.app.inject({ method: method as 'GET', url, headers: auth });
      assert.deepEqual([res.statusCode, res.json()], [status, body], `${method} ${url}`);
    }
    const page = await t.app.inject({ method: 'GET', url: `/groups/%ff` });
    assert.equal(page.statusCode, 400);
    assert.equal(errorText(page.body), bad);
    assert.deepEqual(errorLines(), []);
  });

  test('unknown paths answer 404 in the shape of the surface they are under', async () => {
    const json: [string, unknown][] = [
      ['/v1/nope', apiError('not_found', 'No route for GET /v1/nope')],
      ['/v1.2/nope', kandy(7, 'No route for GET /v1.2/nope')],
      ['/api/v1/nope', apiError('not_found', 'No route for GET /api/v1/nope')],
      ['/oauth/nope', { error: 'invalid_request', error_description: 'No route for GET /oauth/nope' }],
    ];
    for (const [url, body] of json) {
      const res = await t.app.inject({ method: 'GET', url });
      assert.deepEqual([res.statusCode, res.json()], [404, body], url);
    }
    const res = await flow.person.get('/nope');
    assert.equal(res.statusCode, 404);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /<h1>Not found<\/h1>/);
    assert.equal(errorText(res.body), 'No route for GET /nope');
    // The person is still signed in on the error page: the menu is there.
    assert.match(res.body, /action="\/logout"/);
  });

  test('request headers over 16 KB answer 431 in the surface\'s shape', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as { port: number }).port;
    const big = `X-Padding: ${'a'.repeat(17 * 1024)}\r\n`;
    const api = await rawRequest(port, `GET /v1/groups HTTP/1.1\r\nHost: x\r\n${big}\r\n`);
    assert.deepEqual([api.status, JSON.parse(api.body)], [431, apiError('headers_too_large', 'The request headers are too large')]);
    const kandyRes = await rawRequest(port, `GET /v1.2/domains/users HTTP/1.1\r\nHost: x\r\n${big}\r\n`);
    assert.deepEqual([kandyRes.status, JSON.parse(kandyRes.body)], [431, kandy(4, 'The request headers are too large')]);
    const oauth = await rawRequest(port, `POST /oauth/token HTTP/1.1\r\nHost: x\r\n${big}\r\n`);
    assert.deepEqual([oauth.status, JSON.parse(oauth.body)], [431, { error: 'invalid_request', error_description: 'The request headers are too large' }]);
    const page = await rawRequest(port, `GET /dashboard HTTP/1.1\r\nHost: x\r\n${big}\r\n`);
    assert.equal(page.status, 431);
    assert.match(page.type, /^text\/html/);
    assert.equal(errorText(page.body), 'The request headers are too large');
  });
});
