// The contract check every suite runs: each JSON answer of a documented API route is held to the
// schema /openapi.json gives for its status, so the document cannot drift from what the code
// sends. Violations are collected as requests are answered (an exception in the hook would turn
// the answer itself into a 500) and reported when the test app closes, failing that suite.
import type { FastifyInstance } from 'fastify';
import { Ajv, type ValidateFunction } from 'ajv';

/** A Fastify route's path as OpenAPI writes it: `/v1/groups/:groupId` → `/v1/groups/{groupId}`. */
export const openApiPath = (url: string): string => url.replace(/:(\w+)/g, '{$1}');

/** An Ajv for the document's schemas: the formats it uses, checked loosely where Tessera's own validation is the strict one. */
export function documentAjv(): Ajv {
  return new Ajv({ strict: false, allErrors: true })
    .addFormat('unsafe', true).addFormat('uuid', /^[0-9a-f-]{36}$/i).addFormat('date-time', true).addFormat('uri', true).addFormat('email', true);
}

interface Operation { responses: Record<string, { content?: Record<string, { schema?: object }> }> }
type Doc = { paths: Record<string, Record<string, Operation>> };

export class ContractCheck {
  private doc: Doc | undefined;
  private readonly ajv = documentAjv();
  private readonly validators = new Map<string, ValidateFunction | undefined>();
  readonly violations = new Set<string>();

  /** Before the app is ready: the hook that sees every answer. */
  attach(app: FastifyInstance): void {
    app.addHook('onSend', async (req, reply, payload) => {
      const url = req.routeOptions.url;
      if (url !== undefined && this.doc && typeof payload === 'string' && payload !== '' && /json/.test(String(reply.getHeader('content-type') ?? ''))) {
        this.check(req.method, url, reply.statusCode, payload);
      }
      return payload;
    });
  }

  /** Once the app is ready: the document the answers are held to. */
  load(app: FastifyInstance): void {
    this.doc = app.swagger() as unknown as Doc;
  }

  private check(method: string, route: string, status: number, body: string): void {
    const op = this.doc!.paths[openApiPath(route)]?.[method.toLowerCase()];
    if (!op) return; // a page, or a route the document leaves out on purpose
    const key = `${method} ${route} → ${status}`;
    if (!this.validators.has(key)) {
      const answer = op.responses[String(status)] ?? op.responses[`${String(status)[0]}XX`] ?? op.responses.default;
      if (!answer) {
        this.violations.add(`${key}: status not documented`);
        return;
      }
      const schema = answer.content?.['application/json']?.schema;
      this.validators.set(key, schema ? this.ajv.compile(schema) : undefined);
    }
    const validate = this.validators.get(key);
    if (validate && !validate(JSON.parse(body))) this.violations.add(`${key}: ${this.ajv.errorsText(validate.errors)}\n  ${body.slice(0, 300)}`);
  }
}
