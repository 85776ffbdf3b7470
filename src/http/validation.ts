// Which parts of a request Ajv may convert. Query strings, headers and route parameters are text,
// so "20" is the integer 20 and a lone value is a one-item list (coerceTypes: 'array'). A JSON
// body says what its client meant: `{"message": 12345}` is a number, refused where text is asked
// for, never stored as "12345". Form bodies (pages, OAuth endpoints) are text again and converted.
import { AjvCompiler } from '@fastify/ajv-compiler';
import { bodiesAreForms, surfaceOf } from './surfaces.js';
import type { DeferredCompiles, Validator } from './deferred-compiles.js';

type Pool = ReturnType<typeof AjvCompiler>;
type Compile = ReturnType<Pool>;

const pool = AjvCompiler();

/**
 * Fastify's validator factory: the configured Ajv, and one without coercion for JSON bodies. Each
 * validator is compiled on its first use (deferred-compiles.ts).
 */
export const surfaceValidators = (deferred: DeferredCompiles): Pool => ((externalSchemas, options) => {
  /** The configured Ajv with some of its options changed. */
  const variant = (changed: object) => pool(externalSchemas,
    { ...options, customOptions: { ...(options as { customOptions?: object } | undefined)?.customOptions, ...changed } } as Parameters<Pool>[1]);
  const converting = pool(externalSchemas, options);
  const strict = variant({ coerceTypes: false });
  // A page's form shows every field's message at once, so its body is checked to the end.
  const forms = variant({ allErrors: true });
  const ajvFor = (route: Parameters<Compile>[0]): Compile => {
    if (route.httpPart !== 'body') return converting;
    const surface = surfaceOf(route.url ?? '');
    return surface === 'pages' ? forms : bodiesAreForms(surface) ? converting : strict;
  };
  const compile: Compile = (route) => deferred.validator(() => ajvFor(route)(route) as Validator) as ReturnType<Compile>;
  return compile;
}) as Pool;
