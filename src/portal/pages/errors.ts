// How the portal answers an error: a page in its frame with what went wrong and a way back.
import { html } from '../../lib/html.js';
import type { ErrorPage } from '../session.js';

const HEADINGS: Record<number, string> = { 403: 'Not allowed', 404: 'Not found', 429: 'Too many attempts' };

export const portalErrorPage: ErrorPage = {
  title: 'Error',
  logMessage: 'portal error',
  body: (message, status) => html`<h1>${HEADINGS[status] ?? (status < 500 ? 'That request could not be handled' : 'Something went wrong')}</h1><div class="error" role="alert">${message}</div><p><a href="/dashboard">Back to the dashboard</a></p>`,
};
