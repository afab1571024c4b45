// The `beacon` subcommands (src/cli.ts dispatches on them; the packaging tests check that the
// compose file only uses these). Kept apart from cli.ts, which runs when imported.
export const COMMANDS = ['all', 'orchestrator', 'processor', 'token', 'healthcheck', 'help'] as const;
export type Command = (typeof COMMANDS)[number];
