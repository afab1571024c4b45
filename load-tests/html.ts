// A self-contained HTML report: inline SVG only (no script, no CDN), so it opens offline.
import { table, type Results } from './report.js';

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const W = 860;
const H = 260;
const PAD = { l: 60, r: 20, t: 28, b: 36 };

interface Series {
  name: string;
  points: [number, number][];
}

function nice(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function lineChart(title: string, unit: string, series: Series[]): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return `<p><em>${esc(title)}: no samples</em></p>`;
  const xMin = Math.min(...all.map((p) => p[0]));
  const xMax = Math.max(xMin + 1, ...all.map((p) => p[0]));
  const yMax = nice(Math.max(...all.map((p) => p[1])));
  const x = (v: number): number => PAD.l + ((v - xMin) / (xMax - xMin)) * (W - PAD.l - PAD.r);
  const y = (v: number): number => H - PAD.b - (v / yMax) * (H - PAD.t - PAD.b);
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (g) =>
        `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(g * yMax)}" y2="${y(g * yMax)}" stroke="#ddd"/><text x="${PAD.l - 6}" y="${y(g * yMax) + 4}" text-anchor="end">${+(g * yMax).toPrecision(3)}</text>`,
    )
    .join('');
  const paths = series
    .map((s, i) => {
      if (s.points.length === 0) return '';
      const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
      return `<path d="${d}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.6"/>`;
    })
    .join('');
  const legend = series.map((s, i) => `<tspan fill="${COLORS[i % COLORS.length]}">■ ${esc(s.name)}</tspan>`).join('  ');
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-size="11" font-family="sans-serif">
<text x="${PAD.l}" y="16" font-weight="bold">${esc(title)} (${esc(unit)})</text><text x="${W - PAD.r}" y="16" text-anchor="end">${legend}</text>
${grid}<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${H - PAD.b}" y2="${H - PAD.b}" stroke="#333"/>
<text x="${PAD.l}" y="${H - 12}">${xMin.toFixed(0)} s</text><text x="${W - PAD.r}" y="${H - 12}" text-anchor="end">${xMax.toFixed(0)} s since start</text>
${paths}</svg>`;
}

function histogram(title: string, b: { lo: number; hi: number; count: number }[]): string {
  if (!b || b.length === 0) return `<p><em>${esc(title)}: no samples</em></p>`;
  const max = Math.max(...b.map((v) => v.count), 1);
  const bw = (W - PAD.l - PAD.r) / b.length;
  const bars = b
    .map((v, i) => {
      const h = (v.count / max) * (H - PAD.t - PAD.b);
      return `<rect x="${(PAD.l + i * bw).toFixed(1)}" y="${(H - PAD.b - h).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="#1f77b4"><title>${v.lo}–${v.hi} ms: ${v.count}</title></rect>`;
    })
    .join('');
  const ticks = b
    .filter((_, i) => i % Math.ceil(b.length / 8) === 0)
    .map((v) => `<text x="${(PAD.l + b.indexOf(v) * bw).toFixed(1)}" y="${H - 20}">${+v.lo.toPrecision(3)}</text>`)
    .join('');
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-size="11" font-family="sans-serif">
<text x="${PAD.l}" y="16" font-weight="bold">${esc(title)} — count per log-spaced bin (ms)</text>
<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${H - PAD.b}" y2="${H - PAD.b}" stroke="#333"/><text x="${PAD.l - 6}" y="${PAD.t + 4}" text-anchor="end">${max}</text>
${bars}${ticks}</svg>`;
}

export function renderHtml(r: Results): string {
  const tl = r.timeline;
  const pick = (run: string | null, key: keyof (typeof tl)[number]): [number, number][] =>
    tl.filter((p) => (run === null || p.run === run) && typeof p[key] === 'number').map((p) => [p.t, p[key] as number]);
  const charts = [
    lineChart('Latency per second', 'ms', [
      { name: 'loc→nearest p50', points: pick('beacon', 'locP50') },
      { name: 'loc→nearest p99', points: pick('beacon', 'locP99') },
      { name: 'move→re-push p99', points: pick('beacon', 'moveP99') },
      { name: 'echo rtt p99', points: pick('echo', 'locP99') },
    ]),
    lineChart('Messages per second', 'msg/s', [
      { name: 'citizen loc out', points: pick(null, 'locPerSec') },
      { name: 'answers in', points: pick(null, 'answersPerSec') },
      { name: 're-pushes in', points: pick(null, 'pushesPerSec') },
      { name: 'frames in', points: pick(null, 'framesInPerSec') },
      { name: 'frames out', points: pick(null, 'framesOutPerSec') },
    ]),
    lineChart('CPU', 'cores', [
      { name: 'server', points: pick(null, 'serverCpu') },
      { name: 'generator', points: pick(null, 'genCpu') },
    ]),
    lineChart('Server RSS and open sockets', 'MB / thousands', [
      { name: 'RSS MB', points: pick(null, 'serverRssMB') },
      { name: 'sockets (k)', points: tl.map((p) => [p.t, p.connected / 1000] as [number, number]) },
    ]),
    histogram('citizen loc → nearest', r.histograms.locToNearest),
    histogram('officer move → re-push', r.histograms.moveToRepush),
  ];
  return `<!doctype html><html><head><meta charset="utf-8"><title>Beacon load test ${esc(r.startedAt)}</title>
<style>body{font-family:sans-serif;margin:24px;max-width:900px}pre{background:#f6f6f6;padding:12px;overflow-x:auto;font-size:12px}svg{display:block;margin:12px 0}</style></head>
<body><h1>Beacon load test</h1><p>${esc(r.mode)} mode, started ${esc(r.startedAt)}, finished ${esc(r.finishedAt)}${r.aborted ? ' — <strong>aborted (Ctrl-C)</strong>' : ''}</p>
<pre>${esc(table(r))}</pre>
${charts.join('\n')}
<h2>Configuration</h2><pre>${esc(JSON.stringify(r.config, null, 2))}</pre>
<h2>Errors</h2><pre>${esc(JSON.stringify(r.errors, null, 2))}</pre>
</body></html>`;
}
