// The OAuth 2.0 / OpenID Connect plugin. Two scopes along the trust boundary: the endpoints that
// clients call directly (no cookies; RFC 6749 §5.2 error bodies from one serializer), and the
// interactive authorization pages (portal session, CSRF on every POST, anti-framing headers,
// HTML errors).
import type { FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import type { Services } from '../services.js';
import { servePortalPages, type Portal } from '../portal/session.js';
import { oauthErrorHandler } from './errors.js';
import { errorPage } from './views.js';
import { discoveryEndpoints } from './endpoints/discovery.js';
import { tokenEndpoint } from './endpoints/token.js';
import { revokeEndpoint } from './endpoints/revoke.js';
import { introspectEndpoint } from './endpoints/introspect.js';
import { userinfoEndpoint } from './endpoints/userinfo.js';
import { authorizeEndpoint } from './endpoints/authorize.js';
import { redirectFlowRoutes } from '../identity/redirect-flows.js';

export async function oauthRoutes(app: FastifyInstance, services: Services, portal: Portal): Promise<void> {
  await app.register(async (api) => {
    api.setErrorHandler(oauthErrorHandler);
    await discoveryEndpoints(api, services);
    await tokenEndpoint(api, services);
    await revokeEndpoint(api, services);
    await introspectEndpoint(api, services);
    await userinfoEndpoint(api, services);
  });

  await app.register(async (ui) => {
    await ui.register(cookie);
    servePortalPages(ui, portal, { title: 'Sign-in error', logMessage: 'authorization page error', body: (message) => errorPage(message) });
    await authorizeEndpoint(ui, services, portal);
    await redirectFlowRoutes(ui, services, portal, '', { prefix: () => '', orgId: () => undefined });
  });
}
