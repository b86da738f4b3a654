// docs/cli.md against the code it describes, where a list there is copied from a table here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MESSAGES_ERRORS } from '../../src/testing/sandbox/codes.js';

const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'cli.md'), 'utf8');

describe('docs/cli.md', () => {
  it('lists every code trigger --code accepts, and no other', () => {
    const paragraph = doc.slice(doc.indexOf('`--code`, for'), doc.indexOf('Another code is a usage'));
    const listed = paragraph.slice(paragraph.indexOf('):')).match(/\b\d{4}\b/g);
    expect(listed).toEqual(Object.keys(MESSAGES_ERRORS));
    expect(paragraph).toContain(`one of the ${listed?.length} codes`);
  });
});
