/**
 * Terminal output of the demo: colors only when stdout is a terminal and NO_COLOR is unset
 * (https://no-color.org), plain text otherwise (CI logs, pipes, the test that reads it).
 */

/** Where lines go and whether they may carry ANSI colors. */
export interface NarratorOptions {
  color: boolean;
  write: (text: string) => void;
}

/** The demo's voice: one method per kind of line. */
export interface Narrator {
  /** A heading line. */
  title(text: string): void;
  /** A moment in the story, with the sandbox time. */
  scene(time: string, text: string): void;
  /** An expectation met. */
  ok(text: string): void;
  /** A neutral detail. */
  info(text: string): void;
  /** An expectation not met. */
  fail(text: string): void;
  /** A blank line. */
  blank(): void;
}

const ANSI = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, cyan: 36 } as const;

/** True when the demo may color its output (a TTY, and NO_COLOR unset or empty). */
export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

export function createNarrator(options: NarratorOptions): Narrator {
  const paint = (style: keyof typeof ANSI, text: string) =>
    options.color ? `\u001b[${ANSI[style]}m${text}\u001b[0m` : text;
  const line = (text: string) => options.write(`${text}\n`);
  return {
    title: (text) => line(paint('bold', text)),
    scene: (time, text) => line(`\n${paint('cyan', `[${time}]`)} ${paint('bold', text)}`),
    ok: (text) => line(`  ${paint('green', '✓')} ${text}`),
    info: (text) => line(`  ${paint('dim', '·')} ${paint('dim', text)}`),
    fail: (text) => line(`  ${paint('red', '✗')} ${paint('red', text)}`),
    blank: () => line(''),
  };
}
