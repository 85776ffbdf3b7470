// App consents: which connectors a person has allowed through OAuth, and withdrawing that
// (which also revokes every token the connector holds for the person).
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { html } from '../../lib/html.js';
import { csrfField, table } from '../views/layout.js';
import { CsrfOnly, type Portal } from '../session.js';
import { clientOf } from '../../http/client.js';

export async function consentPages(app: FastifyInstance, portal: Portal): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const { oauth } = portal.services;

  r.get('/consents', async (req, reply) => {
    const list = await oauth.listConsents(req.user!.id);
    return portal.render(reply, portal.ctx(req, 'App consents', 'consents'), html`<h1>App consents</h1>
<p class="muted">Applications you allowed to act for you. Withdrawing consent signs the application out at once; it will have to ask again.</p>
${table(html`<tr><th>Application</th><th>Registered by</th><th>Allowed</th><th></th></tr>
${list.map((c) => html`<tr><td>${c.connector_name}</td><td>${c.org_name}</td><td>${c.scope.split(' ').map((s) => html`<span class="tag">${s}</span>`)}</td>
<td><form class="inline" method="post" action="/consents/${c.connector_id}/withdraw">${csrfField(req.csrfToken!)}<button class="danger" type="submit">Withdraw</button></form></td></tr>`)}
${list.length ? '' : html`<tr><td colspan="4" class="muted">You have not allowed any application.</td></tr>`}`)}`);
  });

  r.post('/consents/:connectorId/withdraw', {
    schema: { params: { type: 'object', properties: { connectorId: { type: 'string', format: 'uuid' } }, required: ['connectorId'] }, body: CsrfOnly },
  }, async (req, reply) => {
    await oauth.withdrawConsent(req.user!.id, req.params.connectorId, clientOf(req));
    return portal.done(req, reply, '/consents', { notice: 'Consent withdrawn: the application is signed out and must ask again.' });
  });
}
