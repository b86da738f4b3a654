/**
 * The `bin` of the package (built by tsup to dist/cli.js): runs {@link main} on this
 * process's arguments, streams and environment.
 *
 * @module
 */
import { main } from './index.js';
import { EXIT, type Io, wantsColor } from './io.js';

function readStdin(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks)));
    process.stdin.on('error', reject);
  });
}

// A reader that went away (`sandbox | head -3`) makes every later write fail with EPIPE, and
// an unhandled stream error would crash the sandbox mid-run or turn a clean stop into exit 1.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

const io: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  color: wantsColor(process.stdout.isTTY, process.env),
  stdin: readStdin,
};

main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`vonage-messenger: ${String(error)}\n`);
    process.exitCode = EXIT.failed;
  },
);
