/**
 * Schemas built on first use. Constructing zod schemas (and compiling zod's code the first
 * time it runs) was most of what importing the package cost: a serverless instance that
 * only answers webhooks never parses send input, so it should not pay for those schemas
 * on every cold start. See docs/performance.md, "Cold start".
 *
 * @module
 */

/**
 * Returns a stand-in for the schema `build()` returns, built the first time any property
 * is read. The stand-in forwards every read, so it works wherever the schema would: its
 * own methods (`parse`, `optional`, `brand`, …), `instanceof z.ZodType`, and inside other
 * schemas (zod reaches a member schema through its `_zod` property). It keeps one
 * identity, so a registry or `.meta()` lookup keyed by it stays consistent.
 */
export function lazySchema<T extends object>(build: () => T): T {
  let schema: T | undefined;
  const real = (): T => {
    schema ??= build();
    return schema;
  };
  // The target is never the schema itself, so none of its non-configurable properties
  // (zod's `_zod`) may be reported as non-configurable: the Proxy invariants forbid it.
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(real(), key),
    has: (_, key) => Reflect.has(real(), key),
    set: (_, key, value) => Reflect.set(real(), key, value),
    ownKeys: () => Reflect.ownKeys(real()),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(real(), key);
      return descriptor === undefined ? undefined : { ...descriptor, configurable: true };
    },
  });
}
