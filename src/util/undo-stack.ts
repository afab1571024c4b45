// What a start-up has opened, to be undone newest first: by the same list when a later start-up
// step fails and at graceful close, so each resource is named once, where it is opened. The order
// resources are pushed in is the reverse of the order they are closed in: push a graceful-only
// step (drain sockets, leave the registry) after the resources it must run before.

export class UndoStack {
  private readonly steps: (() => unknown)[] = [];
  private unwinding: Promise<void> | undefined;

  /** Registers how to undo what was just opened. */
  push(undo: () => unknown): void {
    if (this.unwinding) throw new Error('UndoStack: push after unwind');
    this.steps.push(undo);
  }

  /**
   * Runs every step, newest first, each awaited before the next. A step that throws does not stop
   * the others; once all have run, the unwinding rejects with the first error (so a graceful stop
   * that could not close something still ends in failure). Once only: later calls return the same
   * promise.
   */
  unwind(): Promise<void> {
    this.unwinding ??= (async () => {
      const errors: unknown[] = [];
      for (let step = this.steps.pop(); step; step = this.steps.pop()) {
        try {
          await step();
        } catch (e) {
          errors.push(e);
        }
      }
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, `${errors.length} resources failed to close`);
    })();
    return this.unwinding;
  }

  /** Runs `start` with this stack; when it throws, unwinds what it had pushed and rethrows. */
  async build<T>(start: (stack: UndoStack) => Promise<T>): Promise<T> {
    try {
      return await start(this);
    } catch (e) {
      // The start-up error is the one to report; undo failures after it are secondary.
      await this.unwind().catch(() => {});
      throw e;
    }
  }
}
