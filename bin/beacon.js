#!/usr/bin/env node
// The `beacon` command. Runs the compiled dist/cli.js when present (containers, `npm run compile`),
// otherwise the TypeScript sources through tsx (a development checkout; tsx is a devDependency).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli.js');

if (existsSync(compiled) && process.env.BEACON_FROM_SOURCE !== '1') {
  await import(pathToFileURL(compiled).href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('beacon: dist/cli.js is missing and tsx is not installed; run `npm run compile` (or `npm install`)\n');
    process.exit(1);
  }
  register();
  await import(pathToFileURL(join(root, 'src', 'cli.ts')).href);
}
