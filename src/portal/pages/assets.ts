// The portal's two static files: a small script (copy buttons) and the favicon. Served from
// memory with a day's caching; the pages' CSP allows scripts from this origin only.
import type { FastifyInstance } from 'fastify';

// Copy buttons: <button class="copy" data-copy="ID"> puts the text of element ID on the clipboard.
// The label is CSS content (layout.ts), so it is not part of the page's text.
const SCRIPT = `document.addEventListener('click', function (event) {
  var button = event.target.closest && event.target.closest('button.copy');
  if (!button) return;
  var source = document.getElementById(button.getAttribute('data-copy'));
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    button.classList.add('copied');
    setTimeout(function () { button.classList.remove('copied'); }, 1500);
  }, function () { button.classList.add('failed'); });
});
`;

// Four tiles, the mark of the sidebar's colours.
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#16203a"/>
<rect x="6" y="6" width="9" height="9" rx="2" fill="#7fa2ff"/><rect x="17" y="6" width="9" height="9" rx="2" fill="#fff"/>
<rect x="6" y="17" width="9" height="9" rx="2" fill="#fff"/><rect x="17" y="17" width="9" height="9" rx="2" fill="#7fa2ff"/></svg>`;

export async function assetRoutes(app: FastifyInstance): Promise<void> {
  const cached = 'public, max-age=86400';
  app.addHook('onSend', async (_req, reply) => { void reply.header('x-content-type-options', 'nosniff'); });
  app.get('/assets/portal.js', async (_req, reply) => reply.header('cache-control', cached).type('text/javascript; charset=utf-8').send(SCRIPT));
  app.get('/favicon.svg', async (_req, reply) => reply.header('cache-control', cached).type('image/svg+xml').send(FAVICON));
  app.get('/favicon.ico', async (_req, reply) => reply.header('cache-control', cached).redirect('/favicon.svg', 301));
}
