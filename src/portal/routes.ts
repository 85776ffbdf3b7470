// The management portal: server-rendered pages, cookie sessions, CSRF on every form.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { servePortalPages, type Portal } from './session.js';
import { portalErrorPage } from './pages/errors.js';
import { authPages } from './pages/auth.js';
import { phonePages } from './pages/phones.js';
import { orgPages } from './pages/orgs.js';
import { groupPages } from './pages/groups.js';
import { connectorPages } from './pages/connectors.js';
import { projectPages } from './pages/projects.js';
import { consentPages } from './pages/consents.js';
import { platformPages } from './pages/platforms.js';
import { privateTokenPages } from './pages/private-tokens.js';
import { identityPages } from './pages/identity.js';
import { accountPages } from './pages/account.js';
import { auditPages } from './pages/audit.js';
import { federationPages } from '../federation/pages.js';

export async function portalRoutes(app: FastifyInstance, portal: Portal): Promise<void> {
  servePortalPages(app, portal, portalErrorPage);

  await authPages(app, portal);
  await identityPages(app, portal);
  await federationPages(app, portal);
  // Everything else needs a signed-in person.
  await app.register(async (scope) => {
    scope.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
      if (!req.user) return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 303);
    });
    await phonePages(scope, portal);
    await orgPages(scope, portal);
    await groupPages(scope, portal);
    await connectorPages(scope, portal);
    await projectPages(scope, portal);
    await consentPages(scope, portal);
    await platformPages(scope, portal);
    await privateTokenPages(scope, portal);
    await accountPages(scope, portal);
    await auditPages(scope, portal);
  });
}
