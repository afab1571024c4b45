// A small Dockerfile reader for the packaging tests (no Docker engine on this machine): joins
// continuation lines, drops comments, splits into stages.

export interface Instruction {
  op: string;
  args: string;
  /** `--flag=value` options (COPY --from, HEALTHCHECK --interval ...). */
  flags: Record<string, string>;
  /** Arguments after the flags: a JSON array (exec form) or whitespace-split words. */
  words: string[];
}

export interface Stage {
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let acc = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (acc === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      acc += line.slice(0, -1) + ' ';
      continue;
    }
    lines.push(acc + line);
    acc = '';
  }
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1].toUpperCase();
    let rest = m[2];
    const flags: Record<string, string> = {};
    for (;;) {
      const f = /^--([a-z-]+)=(\S+)\s*/.exec(rest);
      if (!f) break;
      flags[f[1]] = f[2];
      rest = rest.slice(f[0].length);
    }
    let words: string[];
    if (rest.startsWith('[')) words = JSON.parse(rest) as string[];
    else words = rest.split(/\s+/).filter(Boolean);
    const ins: Instruction = { op, args: rest, flags, words };
    if (op === 'FROM') {
      const asIdx = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ base: words[0], name: asIdx >= 0 ? words[asIdx + 1] : undefined, instructions: [] });
      continue;
    }
    if (stages.length === 0) throw new Error(`${op} before FROM`);
    stages[stages.length - 1].instructions.push(ins);
  }
  return stages;
}
