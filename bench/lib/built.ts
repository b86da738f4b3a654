/**
 * The package as users install it: the built dist/, rebuilt first when src/ is newer. The
 * send, webhook and stores sections measure it. Run from src/ through tsx, every function a
 * call creates also gets its name set (tsx transforms with esbuild's `keepNames`, tsup does
 * not): on 2026-12-03 that made a guarded send 4–5 % dearer than the same send from dist/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Runs `npm run build` unless dist/ is at least as new as every file of src/. */
export function ensureBuilt(log: (line: string) => void): void {
  const entry = join(ROOT, 'dist', 'index.js');
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  log('dist/ is missing or older than src/, running npm run build');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'ignore' });
}

/** A built entry point (`index`, `redis`, `postgres`, `sqlite`), as `import` of the package gets it. */
export async function builtModule(name: string): Promise<Record<string, unknown>> {
  return (await import(pathToFileURL(join(ROOT, 'dist', `${name}.js`)).href)) as Record<string, unknown>;
}
