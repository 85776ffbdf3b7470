import type { FastifyRequest } from 'fastify';
import type { ClientInfo } from '../audit/audit-log.js';

/** Where a request comes from, as the audit log keeps it (req.ip honours TRUST_PROXY). */
export const clientOf = (req: FastifyRequest): ClientInfo => ({ ip: req.ip, userAgent: req.headers['user-agent'] });
