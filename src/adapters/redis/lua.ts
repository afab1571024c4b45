// A Lua script with its SHA1 computed locally, so it runs by EVALSHA and is loaded (EVAL) only
// when a server does not know it yet (first use, or after a restart emptied the script cache).
import { createHash } from 'node:crypto';

export class LuaScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}
