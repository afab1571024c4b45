// Writes a run's results: latest.json, a dated copy, and the HTML report beside them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHtml } from './html.js';
import type { Results } from './report.js';

/** Writes latest.json, a dated copy, latest.html and a dated HTML; returns the paths. */
export function writeResults(dir: string, r: Results): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[:.]/g, '-');
  const json = JSON.stringify(r, null, 2);
  const html = renderHtml(r);
  const files = [join(dir, 'latest.json'), join(dir, `${r.mode}-${stamp}.json`), join(dir, 'latest.html'), join(dir, `${r.mode}-${stamp}.html`)];
  writeFileSync(files[0], json);
  writeFileSync(files[1], json);
  writeFileSync(files[2], html);
  writeFileSync(files[3], html);
  return files;
}
