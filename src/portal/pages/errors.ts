// How the portal answers an error: a page in its frame with what went wrong and a way back.
import { html } from '../../lib/html.js';
import type { ErrorPage } from '../session.js';

export const portalErrorPage: ErrorPage = {
  title: 'Error',
  logMessage: 'portal error',
  body: (message, status) => html`<h1>${status === 404 ? 'Not found' : 'That did not work'}</h1><div class="error" role="alert">${message}</div><p><a href="/dashboard">Back to the dashboard</a></p>`,
};
