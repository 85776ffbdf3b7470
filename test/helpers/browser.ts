// Real Chromium for portal tests, driven by playwright-core (chromium.ts finds or installs it).
// Tessera listens on a real socket (port 0); screenshots go to test-artifacts/ for people to look at.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import type { TestApp } from './app.js';
import { chromiumExecutable } from './chromium.js';
import { createTestApp } from './app.js';

export const ARTIFACTS = join(process.cwd(), 'test-artifacts');
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumExecutable(),
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-gpu', '--no-first-run', '--disable-sync'],
  });
}

/** A Tessera on a real socket whose PUBLIC_URL is its own address. */
export async function createListeningApp(env: Record<string, string> = {}): Promise<TestApp & { url: string }> {
  // Reserve a port first so PUBLIC_URL (used for CSRF origin checks and token issuers) is right.
  const probe = await import('node:net').then((net) => new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  }));
  const url = `http://127.0.0.1:${probe}`;
  const t = await createTestApp({ PUBLIC_URL: url, ...env });
  await t.app.listen({ port: probe, host: '127.0.0.1' });
  return { ...t, url };
}

export async function screenshot(page: Page, suite: string, name: string): Promise<void> {
  const dir = join(ARTIFACTS, suite);
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** Numbered screenshots of one suite, in the order they are taken: test-artifacts/<suite>/01-<name>.png … */
export function screenshots(suite: string): (page: Page, name: string) => Promise<void> {
  let shot = 0;
  return (page, name) => screenshot(page, suite, `${String(++shot).padStart(2, '0')}-${name}`);
}

/** Clicks a submit button and waits for the page it leads to; returns that page's HTTP status. */
export async function submit(page: Page, button: Locator): Promise<number> {
  const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
  return res?.status() ?? 0;
}

export const text = async (l: Locator): Promise<string> => (await l.innerText()).trim();

/** A table's body rows, each as its cells' trimmed text. */
export const rows = async (table: Locator): Promise<string[][]> =>
  (await table.locator('tr').allInnerTexts()).slice(1).map((r) => r.split('\t').map((c) => c.trim()));

/**
 * An OAuth client's redirect URI on a loopback address, served here: the browser lands on it
 * and the test reads where (the browser's own /favicon.ico asks do not count).
 */
export async function redirectReceiver(): Promise<{ uri: string; landed(): URL | undefined; reset(): void; close(): void }> {
  let landed: URL | undefined;
  let uri = '';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', uri);
    if (url.pathname === '/callback') landed = url;
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>App</title><h1>Back at the app</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  uri = `http://127.0.0.1:${(server.address() as { port: number }).port}/callback`;
  return { uri, landed: () => landed, reset: () => { landed = undefined; }, close: () => server.close() };
}
