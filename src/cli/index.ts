/**
 * `npx vonage-messenger <command>`: the commands and their dispatch (src/cli/bin.ts runs it).
 * Exit codes: 0 ok, 1 the check failed, 2 usage.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { doctorCommand } from './doctor.js';
import { inspectTokenCommand } from './inspect-token.js';
import { type Command, EXIT, type Io, parseCommandArgs, UsageError } from './io.js';
import { sandboxCommand } from './sandbox-command.js';
import { triggerCommand } from './trigger.js';

const COMMANDS: readonly Command[] = [sandboxCommand, triggerCommand, inspectTokenCommand, doctorCommand];

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const HELP = `Usage: vonage-messenger <command> [options]

A local Messenger playground and webhook tools for vonage-messenger.

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(15)} ${command.summary}`).join('\n')}

Run "vonage-messenger <command> --help" for a command's options.
Exit codes: 0 ok, 1 the check failed, 2 usage error. NO_COLOR turns colours off.`;

/**
 * Runs one command line; resolves to the exit code.
 */
export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(`${HELP}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    io.out(`${version()}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    io.err(`vonage-messenger: unknown command "${name}"\n\n${HELP}\n`);
    return EXIT.usage;
  }
  try {
    const args = parseCommandArgs(command, rest);
    if (args.values.help === true) {
      io.out(`${command.help}\n`);
      return EXIT.ok;
    }
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`vonage-messenger ${command.name}: ${error.message}\nRun "vonage-messenger ${command.name} --help".\n`);
      return EXIT.usage;
    }
    io.err(`vonage-messenger ${command.name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
}
