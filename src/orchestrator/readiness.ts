// /readyz: a list of named checks, all of which must pass. The orchestrator adds its own (a
// processor is in the directory, not draining); distributed mode adds e.g. "Redis answers".
export interface ReadinessCheck {
  name: string;
  /** True when ready; a throw or a promise slower than the timeout counts as not ready. */
  check(): boolean | Promise<boolean>;
}

export interface ReadinessResult {
  ready: boolean;
  /** Names of the checks that failed. */
  failing: string[];
}

const CHECK_TIMEOUT_MS = 1000;

export class Readiness {
  private readonly checks: ReadinessCheck[] = [];

  add(check: ReadinessCheck): this {
    this.checks.push(check);
    return this;
  }

  async evaluate(): Promise<ReadinessResult> {
    const failing = (await this.report()).filter((c) => !c.ok).map((c) => c.name);
    return { ready: failing.length === 0, failing };
  }

  /** Every check with its result (the `beacon_orchestrator_ready` gauge, one series per check). */
  async report(): Promise<{ name: string; ok: boolean }[]> {
    const results = await Promise.all(this.checks.map((c) => runCheck(c)));
    return this.checks.map((c, i) => ({ name: c.name, ok: results[i] }));
  }
}

async function runCheck(c: ReadinessCheck): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
    });
    return (await Promise.race([Promise.resolve().then(() => c.check()), timeout])) === true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
