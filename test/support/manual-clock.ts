import type { TimerClock } from "../../src/local/timer-schedule.js";

/** A clock that moves only when the test says so; its timers fire in due order as it moves. */
export class ManualClock implements TimerClock {
  private readonly timers = new Set<{ at: number; fire: () => void }>();

  constructor(private time: number) {}

  now(): number {
    return this.time;
  }

  after(ms: number, fire: () => void): { cancel(): void } {
    const timer = { at: this.time + ms, fire };
    this.timers.add(timer);
    return { cancel: () => this.timers.delete(timer) };
  }

  /** Pending timers (what `after` armed and nothing fired or cancelled yet). */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time by `ms`, firing each timer due on the way and letting its async work settle. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      let next: { at: number; fire: () => void } | undefined;
      for (const t of this.timers) if (t.at <= end && (next === undefined || t.at < next.at)) next = t;
      if (next === undefined) break;
      this.timers.delete(next);
      this.time = Math.max(this.time, next.at);
      next.fire();
      await settle();
    }
    this.time = end;
    await settle();
  }
}

/** Lets promise chains started by a timer run (their I/O included, one turn of the loop). */
export const settle = () => new Promise((resolve) => setImmediate(resolve));
