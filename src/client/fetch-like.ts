// The part of `fetch` the client uses: what an app may pass instead (and what node-fetch.ts
// implements over node:http), in its own module so that neither of those imports the other back.
export type FetchLike = (
  input: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{
  status: number;
  ok: boolean;
  json(): Promise<unknown>;
  text(): Promise<string>;
}>;
