// Runs async jobs in arrival order with at most `concurrency` in flight, so a burst (a city-wide
// reconnect reporting 50k socket opens) waits in memory instead of overflowing the Redis client's
// command queue, where the jobs past its limit would fail at once. Jobs start in FIFO order, so
// commands go out in the order the jobs arrived. Past `maxBacklog` waiting jobs, new ones are
// refused (counted in `refused`) rather than growing without bound.
export class WorkQueue {
  private readonly waiting: (() => Promise<unknown>)[] = [];
  private head = 0;
  private running = 0;
  refused = 0;

  constructor(
    private readonly concurrency: number,
    private readonly maxBacklog: number,
  ) {}

  /** Jobs waiting to start. */
  get backlog(): number {
    return this.waiting.length - this.head;
  }

  /** Queues `job`; false when the backlog is full (the job is not run). */
  push(job: () => Promise<unknown>): boolean {
    if (this.backlog >= this.maxBacklog) {
      this.refused++;
      return false;
    }
    this.waiting.push(job);
    this.pump();
    return true;
  }

  private pump(): void {
    while (this.running < this.concurrency && this.head < this.waiting.length) {
      const job = this.waiting[this.head++];
      this.running++;
      // A job's own errors are its business (each job handles them); the queue only counts slots.
      try {
        job().then(this.done, this.done);
      } catch {
        this.done();
      }
    }
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
  }

  private readonly done = (): void => {
    this.running--;
    this.pump();
  };
}
