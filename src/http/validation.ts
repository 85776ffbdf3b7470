// Which parts of a request Ajv may convert. Query strings, headers and route parameters are text,
// so "20" is the integer 20 and a lone value is a one-item list (coerceTypes: 'array'). A JSON
// body says what its client meant: `{"message": 12345}` is a number, refused where text is asked
// for, never stored as "12345". Form bodies (pages, OAuth endpoints) are text again and converted.
import { AjvCompiler } from '@fastify/ajv-compiler';
import { bodiesAreForms, surfaceOf } from './surfaces.js';

type Pool = ReturnType<typeof AjvCompiler>;
type Compile = ReturnType<Pool>;

const pool = AjvCompiler();

/** Fastify's validator factory: the configured Ajv, and one without coercion for JSON bodies. */
export const buildSurfaceValidator = ((externalSchemas, options) => {
  const converting = pool(externalSchemas, options);
  const customOptions = { ...(options as { customOptions?: object } | undefined)?.customOptions, coerceTypes: false };
  const strict = pool(externalSchemas, { ...options, customOptions } as Parameters<Pool>[1]);
  // A page's form shows every field's message at once, so its body is checked to the end.
  const forms = pool(externalSchemas, { ...options, customOptions: { ...(options as { customOptions?: object } | undefined)?.customOptions, allErrors: true } } as Parameters<Pool>[1]);
  const compile: Compile = (route) => {
    if (route.httpPart !== 'body') return converting(route);
    const surface = surfaceOf(route.url ?? '');
    return (surface === 'pages' ? forms : bodiesAreForms(surface) ? converting : strict)(route);
  };
  return compile;
}) as Pool;
