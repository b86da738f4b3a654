import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as vocabulary from '../src/vocabulary.js';

const SRC = join(import.meta.dirname, '../src');

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

/** The code of a file without its comments (doc comments may quote the words). */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

// Two or more quoted literals in a row, separated by `|` (a union) or `,` (a list).
const LITERAL_RUN = /'[\w.]+'(?:\s*[|,]\s*'[\w.]+')+/g;

const lists = (Object.entries(vocabulary) as [string, unknown][]).filter(
  (entry): entry is [string, readonly string[]] => Array.isArray(entry[1]) && entry[1].length > 1,
);

describe('the vocabulary', () => {
  it('is the only place that spells out a union or list of its words', () => {
    const found: string[] = [];
    for (const file of sourceFiles(SRC)) {
      if (file.endsWith('vocabulary.ts')) continue;
      for (const run of code(readFileSync(file, 'utf8')).match(LITERAL_RUN) ?? []) {
        const words = (run.match(/'[\w.]+'/g) ?? []).map((w) => w.slice(1, -1));
        for (const [name, list] of lists) {
          if (words.filter((w) => list.includes(w)).length >= 2) found.push(`${relative(SRC, file)}: ${run} (${name})`);
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('the check above finds a re-declared union (so that it can fail)', () => {
    const sample = code("export type Category = 'response' | 'update' | 'message_tag'; // a copy");
    expect(sample.match(LITERAL_RUN)).toEqual(["'response' | 'update' | 'message_tag'"]);
  });

  it('derives each union from its list, and the window-closed reasons include the closed reasons', () => {
    expect(vocabulary.WINDOW_CLOSED_REASONS).toEqual(expect.arrayContaining([...vocabulary.CLOSED_REASONS]));
    expect(vocabulary.MESSAGE_STATUSES.slice(0, 3)).toEqual([...vocabulary.DELIVERY_STATUSES]);
  });
});
