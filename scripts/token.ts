// `npm run token -- --role officer|citizen|operator --sub o-1 [--acct a-1] [--name "Ofc. Diaz"]
//  [--badge 4411] [--precinct 14] [--ttl 3600]`: the same command as `beacon token` (src/cli/token.ts).
import { runToken } from '../src/cli/token.js';

void runToken(process.argv.slice(2));
