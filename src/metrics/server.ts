// METRICS_PORT: the scrape on a listener of its own (node:http, no Fastify), so the public port
// need not expose it; anything but GET /metrics is a 404.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The scrape's text: one registry's (metrics.ts), or every worker's (cluster/primary.ts). */
export type Collect = () => Promise<{ contentType: string; text: string }>;

export async function listenForScrapes(collect: Collect, host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://metrics').pathname !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: the metrics are at GET /metrics\n');
      return;
    }
    collect().then(
      (m) => res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store' }).end(m.text),
      () => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('the metrics could not be collected\n'),
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}
