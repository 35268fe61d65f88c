import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { scheduleTimer } from "../src/local/timer-schedule.js";
import { ManualClock, settle } from "./support/manual-clock.js";

const T0 = Date.parse("2026-11-20T07:59:58.500Z");

describe("timer schedule (the local host's NCRONTAB timers)", () => {
  test("runs at each occurrence, in UTC, and never before it", async () => {
    const clock = new ManualClock(T0);
    const at: string[] = [];
    const timer = scheduleTimer(
      "0 0 8 * * *",
      () => {
        at.push(new Date(clock.now()).toISOString());
        return Promise.resolve();
      },
      { clock, onError: (e) => assert.fail(String(e)) },
    );
    await clock.advance(1499);
    assert.deepEqual(at, [], "not a millisecond early");
    await clock.advance(1);
    assert.deepEqual(at, ["2026-11-20T08:00:00.000Z"]);
    await clock.advance(24 * 3600_000);
    assert.deepEqual(at, ["2026-11-20T08:00:00.000Z", "2026-11-21T08:00:00.000Z"]);
    timer.stop();
    assert.equal(clock.pending, 0, "stop() leaves nothing armed");
    await clock.advance(48 * 3600_000);
    assert.equal(at.length, 2);
  });

  test("one run at a time: an occurrence while the last run still goes is skipped", async () => {
    const clock = new ManualClock(T0);
    let started = 0;
    let finish: (() => void) | undefined;
    const timer = scheduleTimer(
      "*/1 * * * * *",
      () => {
        started += 1;
        return new Promise<void>((resolve) => (finish = resolve));
      },
      { clock, onError: (e) => assert.fail(String(e)) },
    );
    await clock.advance(3000);
    assert.equal(started, 1, "three occurrences passed, one run still going");
    finish?.();
    await settle();
    await clock.advance(1000);
    assert.equal(started, 2);
    timer.stop();
  });

  test("a run that fails goes to onError, and the next occurrence still runs", async () => {
    const clock = new ManualClock(T0);
    const errors: unknown[] = [];
    let runs = 0;
    const timer = scheduleTimer(
      "*/1 * * * * *",
      () => {
        runs += 1;
        return Promise.reject(new Error(`run ${runs}`));
      },
      { clock, onError: (e) => errors.push(e) },
    );
    await clock.advance(2000);
    assert.equal(runs, 2);
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ["run 1", "run 2"],
    );
    timer.stop();
  });

  test("an occurrence beyond setTimeout's range is reached in several waits", async () => {
    const clock = new ManualClock(Date.parse("2026-02-01T00:00:00Z"));
    let runs = 0;
    const timer = scheduleTimer(
      "0 0 0 1 1 *",
      () => {
        runs += 1;
        return Promise.resolve();
      },
      { clock, onError: (e) => assert.fail(String(e)) },
    );
    await clock.advance(Date.parse("2026-12-31T23:59:59Z") - clock.now());
    assert.equal(runs, 0);
    await clock.advance(1000);
    assert.equal(runs, 1);
    assert.equal(new Date(clock.now()).toISOString(), "2027-01-01T00:00:00.000Z");
    timer.stop();
  });

  test("a malformed schedule is refused at once", () => {
    const clock = new ManualClock(T0);
    assert.throws(() =>
      scheduleTimer("not a schedule", () => Promise.resolve(), { clock, onError: () => {} }),
    );
    assert.equal(clock.pending, 0);
  });
});
