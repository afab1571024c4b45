// How a run is laid out on this machine: source addresses, generator threads or processes, and
// whether the open-file limit can hold it (one descriptor per socket on each side).
import type { LoadArgs } from './args.js';
import { fdLimit } from './system.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** One 127.x.y.z source address per 16k sockets (an address has ~28k ephemeral ports). */
export function sourceAddresses(sockets: number, wanted: number | undefined, seed: number): string[] {
  const n = wanted ?? Math.max(1, Math.ceil(sockets / 16_000));
  if (n === 1 && wanted === undefined) return [];
  // A fresh second octet per run keeps clear of ports still in TIME_WAIT from the last run.
  const b = 1 + ((seed + Date.now()) % 250);
  return Array.from({ length: n }, (_, i) => `127.${b}.${Math.floor(i / 250)}.${1 + (i % 250)}`);
}

/**
 * Generator layout: worker threads of this process, or (--processors, or a --target run too big
 * for one process) child processes, each holding at most `perProcess` sockets under the open-file limit.
 */
export function generatorPlan(args: LoadArgs, sockets: number): { processes: boolean; workers: number; perProcess: number } {
  const soft = Math.min(fdLimit()?.soft ?? 65_536, 1_000_000);
  const perProcess = Math.max(1000, Math.min(15_000, soft - 2 * args.connectConcurrency - 1500));
  const processes = args.processors !== undefined || (!!args.target && sockets > perProcess);
  return { processes, workers: processes ? Math.max(args.workers, Math.ceil(sockets / perProcess)) : args.workers, perProcess };
}

export function checkFds(args: LoadArgs, sockets: number, gen: { processes: boolean; workers: number }): void {
  const lim = fdLimit();
  if (!lim) return;
  const embedded = !args.target && args.processors === undefined;
  const inThis = gen.processes ? Math.ceil(sockets / gen.workers) : sockets;
  const need = inThis + (gen.processes ? 1 : args.workers) * args.connectConcurrency + 256;
  // A processor past MAX_SOCKETS (set under the limit, see main) refuses the upgrade: those count as failures, the run goes on.
  // Busiest node ÷ mean from shard-balance.ts: up to ~1.3 over NYC's ~200 zips, ~1.05 over the US.
  const skew = args.area === 'us' ? 1.06 : 1.3;
  if (args.processors !== undefined && (sockets * skew) / args.processors > lim.soft - 1000)
    log(
      `warning: ${sockets} sockets over ${args.processors} processors: the zip shards are uneven (busiest node ~${skew} × the mean over ${args.area === 'us' ? 'the US' : 'NYC'}), a processor may reach its ${lim.soft - 1000} socket cap; more --processors or --area us avoid it`,
    );
  if (need <= lim.soft) return;
  const msg =
    `This run opens ~${sockets} sockets: ~${need} file descriptors in ${gen.processes ? 'each generator process' : 'this process'}` +
    (embedded ? ' and as many in the Beacon child' : '') +
    `, but the open-file limit is ${lim.soft} (hard ${lim.hard}).\n` +
    `Raise it in the shell first, e.g.  ulimit -n ${Math.max(need * 2, 65536)}  (above the hard limit needs root/CAP_SYS_RESOURCE,\n` +
    `or /etc/security/limits.conf / docker --ulimit nofile=...), or lower the device count, or use --processors N. --ignore-fd-limit starts anyway.`;
  if (!args.ignoreFdLimit) {
    log(msg);
    process.exit(2);
  }
  log(`warning: ${msg}`);
}
