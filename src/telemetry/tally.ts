import type { Attributes, Meter, MetricOptions } from "@opentelemetry/api";

interface Cell {
  attributes: Attributes;
  value: number;
}

/**
 * A monotonic counter kept in plain maps and reported through an observable counter at each
 * collection: adding is two map lookups and no allocation once a label pair has been seen, and
 * the SDK sees one cumulative value per label set. One or two closed labels, named here.
 */
export class Tally {
  private readonly cells = new Map<string, Map<string, Cell>>();

  constructor(
    meter: Meter,
    name: string,
    options: MetricOptions,
    private readonly labels: readonly [string] | readonly [string, string],
  ) {
    meter.createObservableCounter(name, options).addCallback((result) => {
      for (const inner of this.cells.values()) {
        for (const cell of inner.values()) result.observe(cell.value, cell.attributes);
      }
    });
  }

  add(first: string, second = "", by = 1): void {
    let inner = this.cells.get(first);
    if (inner === undefined) {
      inner = new Map();
      this.cells.set(first, inner);
    }
    const cell = inner.get(second);
    if (cell !== undefined) {
      cell.value += by;
      return;
    }
    const [one, two] = this.labels;
    const attributes: Attributes = two === undefined ? { [one]: first } : { [one]: first, [two]: second };
    inner.set(second, { attributes: Object.freeze(attributes), value: by });
  }
}

/**
 * One frozen attribute object per label triple, found by nested map lookups (no key string built
 * per record): what a histogram, recorded through the SDK, is given on the hot path.
 */
export function attributeTable<A, B, C>(
  make: (a: A, b: B, c: C) => Attributes,
): (a: A, b: B, c: C) => Attributes {
  const table = new Map<A, Map<B, Map<C, Attributes>>>();
  return (a, b, c) => {
    let byB = table.get(a);
    if (byB === undefined) {
      byB = new Map();
      table.set(a, byB);
    }
    let byC = byB.get(b);
    if (byC === undefined) {
      byC = new Map();
      byB.set(b, byC);
    }
    let attributes = byC.get(c);
    if (attributes === undefined) {
      attributes = Object.freeze(make(a, b, c));
      byC.set(c, attributes);
    }
    return attributes;
  };
}
