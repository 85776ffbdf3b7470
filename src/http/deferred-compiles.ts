// Fastify compiles every route's request validators and response serialisers before it is ready:
// for Tessera's 186 routes, 821 schemas, ≈ 330 ms of a one-second start and ≈ 8 MB of heap. Here
// each is compiled when its route is first used, as V8 compiles a function when it is first
// called: an instance (or a worker replaced under load) serves sooner, and what an instance never
// serves costs it nothing. A route's first request pays for its own schemas, a few milliseconds
// (the process's very first ≈ 30 ms more, while Ajv's own code is compiled). `compileAll()` still
// compiles every schema at once: the test suite calls it, so a schema that cannot compile fails
// CI as it used to fail start-up.
import { SerializerSelector, type SerializerFactory } from '@fastify/fast-json-stringify-compiler';

/** What Fastify calls to validate a request part: Ajv's validate function. */
export interface Validator {
  (data: unknown, parent?: unknown): unknown;
  errors?: unknown;
  /** Fastify hands Ajv the request as the parent only when the function has this (validation.js). */
  schemaEnv?: unknown;
}
export type Serializer = (payload: unknown) => string;

export class DeferredCompiles {
  readonly #pending = new Set<() => unknown>();

  /** A validator that compiles itself on first use; its errors are the compiled one's. */
  validator(build: () => Validator): Validator {
    const get = this.#defer(build);
    const validate: Validator = (data, parent) => {
      const compiled = get();
      const result = compiled(data, parent);
      validate.errors = compiled.errors;
      return result;
    };
    // Ajv's functions all have one; Fastify reads it before the first call.
    validate.schemaEnv = true;
    return validate;
  }

  serializer(build: () => Serializer): Serializer {
    const get = this.#defer(build);
    return (payload) => get()(payload);
  }

  /** How many schemas wait to be compiled. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Compiles every pending schema now; throws the first failure. */
  compileAll(): void {
    for (const get of [...this.#pending]) get();
  }

  #defer<F>(build: () => F): () => F {
    let compiled: F | undefined;
    const get = (): F => {
      if (compiled === undefined) {
        compiled = build();
        this.#pending.delete(get);
      }
      return compiled;
    };
    this.#pending.add(get);
    return get;
  }
}

/** Fastify's response serialiser factory (fast-json-stringify), deferred like the validators. */
export const deferredSerializers = (deferred: DeferredCompiles): SerializerFactory => (externalSchemas, options) => {
  const compile = SerializerSelector()(externalSchemas, options);
  return (route) => deferred.serializer(() => compile(route));
};
