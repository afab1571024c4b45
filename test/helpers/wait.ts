// The one polling helper of the suite: waits until a check holds, and says what it waited for
// when it gives up. Polling is for state that has no event to wait on (a process's output, a
// store's content, a counter); where an ordered channel exists, a sentinel message is better.

type Truthy<T> = Exclude<Awaited<T>, false | null | undefined | 0 | ''>;

/** Resolves with the first truthy value of `check` (sync or async); rejects after `timeoutMs`. */
export async function waitFor<T>(check: () => T, timeoutMs = 10_000, what = 'condition', everyMs = 10): Promise<Truthy<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as Truthy<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
