// Request logging that never writes a credential: query strings (Kandy puts tokens in `key`)
// are dropped from logged URLs, and credential headers and body fields are redacted.
import type { FastifyRequest } from 'fastify';

export const loggerOptions = (level: string) => ({
  level,
  redact: {
    paths: [
      'req.headers.authorization', 'req.headers.cookie', 'req.headers.applicationsecret', 'req.headers.refreshtoken',
      'req.headers.accesstoken', 'res.headers["set-cookie"]',
      '*.password', '*.client_secret', '*.refresh_token', '*.code', '*.code_verifier', '*.pin',
    ],
    censor: '[redacted]',
  },
  serializers: {
    req(req: FastifyRequest) {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      return { method: req.method, url: q === -1 ? url : `${url.slice(0, q)}?[query redacted]`, remoteAddress: req.ip, reqId: req.id };
    },
  },
});
