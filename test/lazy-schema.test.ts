import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { lazySchema } from '../src/lazy-schema.js';

// Every zod factory the package calls is counted, so the test can tell whether importing
// the root entry built any schema (the cold-start fix: no schema is built at import).
const built = vi.hoisted(() => ({ calls: 0 }));
vi.mock('zod', async (importOriginal) => {
  const actual = await importOriginal<Record<string, unknown>>();
  const counted: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(actual)) {
    counted[name] =
      typeof value === 'function' && /^[a-z]/.test(name)
        ? (...args: unknown[]) => {
            built.calls++;
            return (value as (...a: unknown[]) => unknown)(...args);
          }
        : value;
  }
  return counted;
});

describe('lazySchema', () => {
  it('builds the schema on first use, once', () => {
    const build = vi.fn(() => z.string().min(2));
    const schema = lazySchema(build);
    expect(build).not.toHaveBeenCalled();
    expect(schema.parse('ab')).toBe('ab');
    expect(schema.safeParse('a').success).toBe(false);
    expect(build).toHaveBeenCalledTimes(1);
  });

  it('works inside other schemas, with its own methods, and as a zod type', () => {
    const Id = lazySchema(() => z.string().regex(/^[0-9]+$/, 'digits only'));
    const Body = z.object({ id: Id, other: Id.optional() });
    expect(Body.parse({ id: '12' })).toEqual({ id: '12' });
    const result = Body.safeParse({ id: 'x1', other: '3' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['id', 'digits only']]);
    expect(Id instanceof z.ZodType).toBe(true);
    expect(Id.nullable().parse(null)).toBeNull();
  });

  it('keeps one identity for registries and metadata', () => {
    const Id = lazySchema(() => z.string());
    z.globalRegistry.add(Id, { description: 'an id' });
    expect(z.globalRegistry.get(Id)).toEqual({ description: 'an id' });
    expect(Id.describe('described').description).toBe('described');
  });

  it('answers reflection without breaking Proxy invariants', () => {
    const Id = lazySchema(() => z.string());
    expect(() => Object.getOwnPropertyDescriptor(Id, '_zod')).not.toThrow();
    expect('_zod' in Id).toBe(true);
    expect(Object.getPrototypeOf(Id)).toBe(Object.getPrototypeOf(z.string()));
    expect(Reflect.ownKeys(Id)).toEqual(Reflect.ownKeys(z.string()));
  });
});

describe('the root entry', () => {
  it('builds no zod schema at import; createMessenger builds the ones it uses', async () => {
    vi.resetModules();
    built.calls = 0;
    const root = await import('../src/index.js');
    expect(built.calls).toBe(0);
    root.createMessenger({ apiKey: 'abcd1234', apiSecret: 'secret', signatureSecret: 's' });
    expect(built.calls).toBeGreaterThan(0);
  });
});
