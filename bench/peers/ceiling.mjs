// The ceiling: a bare node:http server answering a fixed, token-sized JSON body. Nothing in
// Tessera can be faster than this on the same machine, load generator and connection count, so
// "Tessera ÷ ceiling" says how much of what Node.js itself can do is left after real work.
// Plain JavaScript (no tsx loader) so its RSS is what a bare Node process costs.
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import process from 'node:process';

// About the size of a Tessera token response: an ES256 JWT (≈ 600 bytes) and a few fields.
const body = Buffer.from(JSON.stringify({
  accessToken: 'e'.repeat(620),
  endpointUrl: 'http://127.0.0.1/',
  accessTokenExpiry: 1_900_000_000_000,
  refreshToken: '',
  scope: 'groupinfo.read,groupmember.read,textmessage.write',
}));

const server = createServer((req, res) => {
  // Drain any request body so keep-alive connections stay usable.
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' });
    res.end(body);
  });
});
server.keepAliveTimeout = 72_000;
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close(() => process.exit(0)));
