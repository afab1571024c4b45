// A FileConnectionStream in a process of its own, driven one JSON command per stdin line (one JSON
// reply per stdout line; warn logs as JSON on stderr): the file-size-limit test lowers this
// process's RLIMIT_FSIZE (prlimit), which must not touch the test runner itself.
//   argv: <stream dir> <clock ms>     commands: {op:'append', event} | {op:'close'}
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { FileConnectionStream } from '../../src/adapters/memory/index.js';

const [dir, clock] = process.argv.slice(2);
const logger = pino({ level: 'warn' }, pino.destination({ dest: 2, sync: true }));
const s = await FileConnectionStream.open(dir!, { now: () => Number(clock), logger });
const reply = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
reply({ ready: process.pid, path: s.path });
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { op: 'append'; event: Parameters<FileConnectionStream['append']>[0] } | { op: 'close' };
  if (cmd.op === 'append') {
    await s.append(cmd.event).then(
      () => reply({ ok: true }),
      (e: NodeJS.ErrnoException) => reply({ ok: false, code: e.code }),
    );
  } else {
    await s.close();
    reply({ closed: true });
    break;
  }
}
