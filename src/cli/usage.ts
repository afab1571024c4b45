// The help texts of the `beacon` command. Each ends where configHelp() (every setting) follows.

export const USAGE = `Beacon — real-time proximity service

Usage: beacon [command] [--help]

Commands:
  all            (default) embedded mode: orchestrator + one processor in one process, no Redis
  orchestrator   distributed mode: HTTP socket assignment and connection requests (needs REDIS_URL)
  processor      distributed mode: one websocket node (needs REDIS_URL)
  token          mint a token: beacon token --role officer|citizen|operator --sub <id> [...]
  healthcheck    exit 0 when the local servers of a role answer /healthz (container HEALTHCHECK)
  help           this text

Settings come from environment variables:
`;

export const EMBEDDED_USAGE = `Beacon — real-time proximity service (embedded mode: orchestrator + one processor, no Redis)

Usage: npm start                      (beacon all)
       npm start -- --help            this text

Mint a device token for trying it:  npm run token -- --role officer --sub o-1 [--name "Ofc. Diaz"]
Watch an officer and a citizen find each other:  npm run demo

Settings (environment variables):
`;

const DISTRIBUTED = `Required: REDIS_URL, TICKET_SECRET and REPLICATION_KEY (shared by every node), one of
JWT_SECRET / JWT_PUBLIC_KEY / JWKS_URL. A local deployment with its own redis-server:
npm run cluster -- --processors 3.`;

export const ROLE_USAGE: Record<'orchestrator' | 'processor', string> = {
  orchestrator: `Usage: beacon orchestrator       (npm run orchestrator)

Distributed mode, orchestrator role: serves socket assignment and connection requests on PORT,
coordinates with processors through Redis, appends established connections to the Redis Stream.
Run as many as you like behind a load balancer. The operations map is at /map (operator token:
beacon token --role operator --sub ops-1).

${DISTRIBUTED}

Settings (environment variables):
`,
  processor: `Usage: beacon processor          (npm run processor)

Distributed mode, processor role: serves device websockets on PROCESSOR_PORT and registers itself
in Redis under NODE_ID; orchestrators assign it the zips rendezvous hashing gives it. Devices are
told to open PUBLIC_WS_URL: set it to the address they can reach. Its metrics are served on
METRICS_PORT (a listener of its own) or, with METRICS_TOKEN, to that bearer on PROCESSOR_PORT;
with neither, not at all.

${DISTRIBUTED}

Settings (environment variables):
`,
};

export const HEALTHCHECK_USAGE = "Usage: beacon healthcheck [all|orchestrator|processor]   (default: the role of the container's main process)";
