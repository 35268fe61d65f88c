/**
 * Per-runtime state for modules that must hold none of their own (the HTTP handlers): one slot
 * per key, made at first use. Two runtimes in one process (tests, the dev stack) share nothing.
 */
export interface MemoKey<T> {
  readonly name: string;
  readonly create: () => T;
}

export function memoKey<T>(name: string, create: () => T): MemoKey<T> {
  return Object.freeze({ name, create });
}

export class RuntimeMemo {
  private readonly slots = new Map<MemoKey<unknown>, unknown>();

  get<T>(key: MemoKey<T>): T {
    let value = this.slots.get(key) as T | undefined;
    if (value === undefined) {
      value = key.create();
      this.slots.set(key, value);
    }
    return value;
  }
}
