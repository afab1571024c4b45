// The docs list every code the services can answer with (like fastify's errors table test).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config.js';
import { BYE_REASONS, CLOSE_CODES, HTTP_ERRORS, HTTP_PATHS, WS_ERROR_CODES } from '../../src/protocol/index.js';

const root = join(import.meta.dirname, '../..');
const read = (p: string) => readFile(join(root, p), 'utf8');

describe('docs/protocol.md', () => {
  it('lists every HTTP error code with its status, every err code, every bye reason with its close code, every path', async () => {
    const doc = await read('docs/protocol.md');
    for (const [code, { status }] of Object.entries(HTTP_ERRORS)) expect(doc, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    for (const code of Object.keys(WS_ERROR_CODES)) expect(doc, code).toMatch(new RegExp(`\\| \`${code}\` \\|`));
    for (const reason of Object.keys(BYE_REASONS))
      expect(doc, reason).toMatch(new RegExp(`\\| \`${reason}\` \\| ${CLOSE_CODES[reason as keyof typeof BYE_REASONS]} \\|`));
    expect(doc).toContain(String(CLOSE_CODES.backpressure));
    for (const path of Object.values(HTTP_PATHS)) expect(doc, path).toContain(path);
  });
});

describe('README.md', () => {
  it('has the two-command quick start, links the contract and lists every setting', async () => {
    const readme = await read('README.md');
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm install && npm test');
    expect(readme).toContain('(docs/protocol.md)');
    for (const name of Object.keys(SETTINGS)) expect(readme, name).toContain(`  ${name} `);
  });
});
