// The `beacon` subcommands (dispatch.ts dispatches on them; the packaging tests check that the
// compose file only uses these).
export const COMMANDS = ['all', 'orchestrator', 'processor', 'token', 'healthcheck', 'help'] as const;
export type Command = (typeof COMMANDS)[number];
