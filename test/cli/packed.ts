// The CLI under test is the one users get: this checkout is copied, built with tsup, packed
// with `npm pack` and installed from the tarball into a fresh project. Done once per source
// state (a hash of src/ and the build files) and shared by the test files through a lock
// directory, so parallel test files build it once.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
const BUILD_INPUTS = ['src', 'package.json', 'tsup.config.ts', 'tsconfig.json'];
const COPIED = [...BUILD_INPUTS, 'README.md', 'CHANGELOG.md', 'LICENSE'];

function hashInputs(): string {
  const hash = createHash('sha256');
  const visit = (path: string): void => {
    const full = join(ROOT, path);
    if (statSync(full).isDirectory()) {
      for (const name of readdirSync(full).sort()) visit(join(path, name));
    } else {
      hash.update(path).update('\0').update(readFileSync(full)).update('\0');
    }
  };
  for (const input of BUILD_INPUTS) visit(input);
  return hash.digest('hex').slice(0, 16);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function build(base: string): string {
  const copy = join(base, 'checkout');
  mkdirSync(copy, { recursive: true });
  for (const name of COPIED) cpSync(join(ROOT, name), join(copy, name), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  const run = (command: string, args: string[], cwd: string) =>
    execFileSync(command, args, { cwd, stdio: 'pipe', encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  run(process.execPath, [join(ROOT, 'node_modules', 'tsup', 'dist', 'cli-default.js')], copy);
  const tarball = join(
    base,
    run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', base], copy)
      .trim()
      .split('\n')
      .at(-1) as string,
  );
  const app = join(base, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'cli-under-test', private: true, type: 'module' }));
  run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', tarball],
    app,
  );
  const bin = join(app, 'node_modules', '.bin', 'vonage-messenger');
  if (!existsSync(bin)) throw new Error(`the installed package has no bin at ${bin}`);
  return bin;
}

/** The `vonage-messenger` bin installed from the packed tarball (built on first use). */
export async function packedCli(): Promise<string> {
  const base = join(ROOT, '.tmp', 'packed-cli', hashInputs());
  const ready = join(base, 'ready');
  const lock = `${base}.lock`;
  mkdirSync(join(ROOT, '.tmp', 'packed-cli'), { recursive: true });
  for (;;) {
    if (existsSync(ready)) return readFileSync(ready, 'utf8');
    try {
      mkdirSync(lock);
    } catch {
      // Another test file is building it; a lock older than 10 minutes belongs to a dead run.
      const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - since > 600_000) rmSync(lock, { recursive: true, force: true });
      await sleep(500);
      continue;
    }
    try {
      // Builds of earlier source states are not needed any more (each holds an installed copy).
      const parent = join(ROOT, '.tmp', 'packed-cli');
      for (const name of readdirSync(parent)) {
        if (existsSync(join(parent, name, 'ready'))) rmSync(join(parent, name), { recursive: true, force: true });
      }
      rmSync(base, { recursive: true, force: true });
      mkdirSync(base, { recursive: true });
      const bin = build(base);
      writeFileSync(ready, bin);
      return bin;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** The result of one CLI run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the packed CLI to completion. */
export function runCli(
  bin: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A long-running CLI process (the sandbox), with its output as it comes. */
export interface CliProcess {
  pid: number;
  output(): string;
  errors(): string;
  /** Resolves with the first stdout line matching `test`. */
  line(test: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Closes the reading end of its stdout, as `| head` does once it has its lines. */
  closeOutput(): void;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the packed CLI in the background. */
export function startCli(bin: string, args: string[], env: Record<string, string | undefined> = {}): CliProcess {
  const child = spawn(bin, args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    for (const wake of waiters) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    pid: child.pid as number,
    output: () => stdout,
    errors: () => stderr,
    line(test, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = stdout.split('\n').find(test);
          if (found === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching line within ${timeoutMs} ms; stdout:\n${stdout}\nstderr:\n${stderr}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    closeOutput() {
      child.stdout.destroy();
    },
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on now (ECONNREFUSED until someone takes it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
