/**
 * `value` is a Date, also one made in another realm (a `vm` context, an iframe), where
 * `instanceof Date` is false: the same test for every clock and timestamp the SDK takes.
 *
 * @example
 * ```ts
 * isDate(new Date()) // true; isDate(Date.now()) // false
 * ```
 */
export const isDate = (value: unknown): value is Date => Object.prototype.toString.call(value) === '[object Date]';
