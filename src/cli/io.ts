/**
 * What every command shares: argument parsing with `node:util` `parseArgs`, usage errors
 * (exit 2), colours only on a TTY and never under `NO_COLOR`, and `--json` output.
 *
 * @module
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Exit codes: 0 ok, 1 the check failed, 2 usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Where a command writes, and the environment it reads (injectable for tests). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Colours for stdout: on a TTY and without `NO_COLOR`. */
  color: boolean;
  /** Reads standard input to the end (for `--body -`). */
  stdin(): Promise<Buffer>;
}

/** A mistake in the command line: printed with a pointer to `--help`, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A command: its help text, its `parseArgs` options and what it does. */
export interface Command {
  name: string;
  summary: string;
  /** The full `--help` text. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Whether positionals are accepted. */
  positionals?: boolean;
  run(args: ParsedArgs, io: Io): Promise<number>;
}

/** The parsed command line of one command. */
export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** `parseArgs` in strict mode; its errors become usage errors. */
export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.positionals === true,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** `NO_COLOR` (any non-empty value) wins; otherwise colours only when the stream is a TTY. */
export function wantsColor(isTTY: boolean | undefined, env: Io['env']): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTTY === true;
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1, cyan: 36 } as const;

/** Paints `text` when colours are on. */
export function paint(io: Io, style: keyof typeof CODES, text: string): string {
  return io.color ? `\u001b[${CODES[style]}m${text}\u001b[0m` : text;
}

/** A string option, or `undefined`. */
export function str(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A string option that must be given. */
export function required(args: ParsedArgs, name: string): string {
  const value = str(args, name);
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/**
 * The signature secret: the option, else `VONAGE_SIGNATURE_SECRET`. An option given empty
 * (an unset shell variable, say) is its own mistake, whatever the environment holds.
 */
export function signatureSecret(args: ParsedArgs, io: Io): string {
  const given = str(args, 'signature-secret');
  if (given === '') throw new UsageError('--signature-secret is empty');
  const secret = given ?? io.env.VONAGE_SIGNATURE_SECRET;
  if (secret === undefined || secret === '') {
    throw new UsageError('--signature-secret is required (or set VONAGE_SIGNATURE_SECRET)');
  }
  return secret;
}

/** Why a network call failed: fetch's own message ("fetch failed") hides its cause. */
export function failureReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // A name with an IPv4 and an IPv6 address fails with one error per address.
  const cause: unknown = error.cause instanceof AggregateError ? error.cause.errors[0] : error.cause;
  return cause instanceof Error && cause.message !== '' ? cause.message : error.message;
}

/** An integer option within bounds. */
export function integer(args: ParsedArgs, name: string, fallback: number, min: number, max: number): number {
  const text = str(args, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got "${text}")`);
  }
  return value;
}

/** Pass/fail line of a check list. */
export function mark(io: Io, result: 'pass' | 'fail' | 'skip' | 'warn'): string {
  const styles = { pass: 'green', fail: 'red', skip: 'dim', warn: 'yellow' } as const;
  return paint(io, styles[result], result.toUpperCase().padEnd(4));
}
