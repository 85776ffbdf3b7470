// The SDK (sdk/): the Kaizala flow driven through the generated, typed client against a Tessera
// on a real socket — token service, group, members, messages — and an error answer typed as the
// document says.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createListeningApp } from '../helpers/browser.js';
import type { TestApp } from '../helpers/app.js';
import { seedConnectorFlow } from '../helpers/portal.js';
import { createTesseraClient, kaizalaAccessToken } from '../../sdk/index.js';

describe('the SDK', () => {
  let t: TestApp & { url: string };
  let flow: Awaited<ReturnType<typeof seedConnectorFlow>>;

  before(async () => {
    t = await createListeningApp();
    flow = await seedConnectorFlow(t.app);
  });
  after(async () => { await t?.close(); });

  test('the Kaizala flow: access token, the group, a message posted and read back', async () => {
    const tessera = createTesseraClient({ baseUrl: t.url });
    const header = { applicationid: flow.connector.id, applicationsecret: flow.connector.secret, refreshtoken: flow.refreshToken };
    const token = await tessera.GET('/v1/accessToken', { params: { header } });
    assert.equal(token.response.status, 200);
    assert.ok(token.data);
    assert.equal(token.data.endpointUrl, `${t.url}/`);
    tessera.use(kaizalaAccessToken(token.data.accessToken));

    const group = await tessera.GET('/v1/groups/{groupId}', { params: { path: { groupId: flow.groupId } } });
    assert.equal(group.response.status, 200);
    assert.equal(group.data?.groupName, 'Field team');

    const posted = await tessera.POST('/v1/groups/{groupId}/messages', { params: { path: { groupId: flow.groupId } }, body: { message: 'Hello from the SDK' } });
    assert.equal(posted.response.status, 201);
    const messages = await tessera.GET('/v1/groups/{groupId}/messages', { params: { path: { groupId: flow.groupId } } });
    assert.ok(messages.data?.messages.some((m) => m.message === 'Hello from the SDK'), JSON.stringify(messages.data));
  });

  test('an error answer is the document\'s error shape', async () => {
    const tessera = createTesseraClient({ baseUrl: t.url });
    const refused = await tessera.GET('/v1/accessToken', { params: { header: { applicationid: flow.connector.id, applicationsecret: 'tcs_wrong', refreshtoken: flow.refreshToken } } });
    assert.equal(refused.response.status, 401);
    assert.equal(refused.data, undefined);
    assert.equal(refused.error?.error.code, 'invalid_credentials');
  });
});
