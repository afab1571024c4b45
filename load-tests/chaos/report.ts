// The shape of load-tests/results/chaos.json and the table printed at the end of a chaos run.
export interface ChaosResult {
  /** atS: seconds from the start of the run; recoveredS: seconds from the injection until every
   * device was served again after the fault was over (null: not within the timeout). */
  faults: Array<{ kind: string; atS: number; recoveredS: number | null }>;
  established: { acknowledged: number; inStream: number; lost: number; duplicated: number };
  /** reservedAfterS: the longest recoveredS (null when a fault never recovered). */
  devices: { total: number; reservedAfterS: number | null; servedAtEnd: boolean };
  exactAtEnd: boolean;
  detail: Record<string, unknown>;
}

export function printTable(r: ChaosResult): void {
  const rows: string[][] = [['fault', 'at (s)', 'recovered after (s)']];
  for (const f of r.faults) rows.push([f.kind, f.atS.toFixed(1), f.recoveredS === null ? 'NOT RECOVERED' : f.recoveredS.toFixed(1)]);
  const w = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(w[i])).join('  ');
  const e = r.established;
  const out = [
    line(rows[0]),
    ...rows.slice(1).map(line),
    '',
    `established: acknowledged ${e.acknowledged}  in stream ${e.inStream}  lost ${e.lost}  duplicated ${e.duplicated}`,
    `devices: ${r.devices.total}  served again after ${r.devices.reservedAfterS ?? 'NEVER'} s  served at end ${r.devices.servedAtEnd ? 'yes' : 'NO'}`,
    `nearest exact at end: ${r.exactAtEnd ? 'yes' : 'NO'}`,
    `detail: ${JSON.stringify(r.detail)}`,
  ];
  process.stdout.write(out.join('\n') + '\n');
}
