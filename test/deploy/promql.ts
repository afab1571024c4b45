// The metric names a PromQL expression reads, and the metric names a /metrics scrape exports, so
// tests can check that a dashboard or an alert never queries a metric Beacon does not export.
// A small lexer, enough for the expressions in deploy/: strings, label matchers, ranges and
// grouping clauses are removed; what remains that is neither a function call nor a keyword is a metric.
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

export function metricsIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges, subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // grouping label lists
  const out = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = stripped.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(')) continue; // a function or aggregation
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    if (/^\d/.test(m[0])) continue;
    // A duration or number suffix (1e3, 5m) never starts a name here: the regex needs a letter first,
    // so only plain words reach this point.
    out.add(m[0]);
  }
  return [...out];
}

/** The series names a Prometheus text exposition can answer: samples, and declared families (histogram parts included). */
export function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      names.add(type[1]);
      if (type[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(type[1] + s);
      if (type[2] === 'summary') for (const s of ['_sum', '_count']) names.add(type[1] + s);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]);
  }
  return names;
}

/** Every PromQL expression of a Grafana dashboard (panels, nested rows, templating queries). */
export function dashboardExprs(dash: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key = ''): void => {
    if (Array.isArray(v)) v.forEach((x) => walk(x));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
    else if (key === 'expr' && typeof v === 'string') out.push(v);
  };
  walk(dash);
  return out;
}

/** Every `expr` of a Prometheus rules file, parsed as YAML. */
export function ruleExprs(rules: { groups?: { rules?: { expr?: unknown }[] }[] }): string[] {
  return (rules.groups ?? []).flatMap((g) => (g.rules ?? []).map((r) => String(r.expr)));
}
