import type { Attributes, Meter, MetricOptions } from "@opentelemetry/api";

interface Cell {
  attributes: Attributes;
  value: number;
}

/**
 * A monotonic counter kept in plain maps and reported through an observable counter at each
 * collection: adding is two map lookups, and the SDK sees one cumulative value per label set.
 * Keys are two closed labels (the caller builds the attributes once per new pair).
 */
export class Tally {
  private readonly cells = new Map<string, Map<string, Cell>>();

  constructor(meter: Meter, name: string, options: MetricOptions) {
    meter.createObservableCounter(name, options).addCallback((result) => {
      for (const inner of this.cells.values()) {
        for (const cell of inner.values()) result.observe(cell.value, cell.attributes);
      }
    });
  }

  add(first: string, second: string, attributes: () => Attributes, by = 1): void {
    let inner = this.cells.get(first);
    if (inner === undefined) {
      inner = new Map();
      this.cells.set(first, inner);
    }
    const cell = inner.get(second);
    if (cell !== undefined) cell.value += by;
    else inner.set(second, { attributes: attributes(), value: by });
  }
}
