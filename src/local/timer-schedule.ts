import { Cron } from "croner";

/**
 * The local host's timer triggers: croner only computes the next NCRONTAB occurrence; the waiting
 * goes through a clock, so tests move time forward instead of sleeping on the wall clock.
 */

export interface TimerClock {
  now(): number;
  /** Calls `fire` once after `ms`; `cancel` stops it. */
  after(ms: number, fire: () => void): { cancel(): void };
}

export const systemTimerClock: TimerClock = {
  now: () => Date.now(),
  after: (ms, fire) => {
    const timer = setTimeout(fire, ms);
    return { cancel: () => clearTimeout(timer) };
  },
};

/** setTimeout's largest delay; a later occurrence is reached in several waits. */
const MAX_WAIT_MS = 2_147_483_647;

export interface ScheduledTimer {
  stop(): void;
}

/**
 * Runs `run` on each occurrence of a 6-part NCRONTAB `schedule` (UTC). One run at a time, as the
 * Functions host does: an occurrence while the previous run is still going is skipped.
 */
export function scheduleTimer(
  schedule: string,
  run: () => Promise<void>,
  options: { onError: (error: unknown) => void; clock?: TimerClock },
): ScheduledTimer {
  const clock = options.clock ?? systemTimerClock;
  // No croner `name`: names are process-global there, and tests run several hosts at once.
  const cron = new Cron(schedule, { mode: "6-part", timezone: "UTC" });
  let pending: { cancel(): void } | undefined;
  let stopped = false;
  let running = false;

  const fire = () => {
    if (running) return;
    running = true;
    run()
      .catch(options.onError)
      .finally(() => {
        running = false;
      });
  };
  // The next occurrence strictly after `from`; a timer that fires early waits out the rest.
  const arm = (from: number) => {
    const next = cron.nextRun(new Date(from));
    if (next === null) return;
    const due = next.getTime();
    const wait = () => {
      if (stopped) return;
      const left = due - clock.now();
      if (left > 0) {
        pending = clock.after(Math.min(left, MAX_WAIT_MS), wait);
        return;
      }
      arm(Math.max(due, clock.now()));
      fire();
    };
    wait();
  };
  arm(clock.now());
  return {
    stop: () => {
      stopped = true;
      pending?.cancel();
    },
  };
}
