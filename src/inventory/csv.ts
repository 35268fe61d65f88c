/** RFC 4180 CSV: CRLF line ends, fields quoted when they hold a comma, quote or line break. */

export interface CsvColumn<T> {
  header: string;
  value: (row: T) => string | number | boolean | null;
}

/**
 * OWASP CSV injection: a text cell a spreadsheet could read as a formula (=, +, -, @, tab, CR,
 * and their full-width forms, which some spreadsheets fold to ASCII) gets a leading `'`.
 * Every text cell, whatever the column: names, scopes and tags all come from people.
 */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

function field(raw: string | number | boolean | null): string {
  let s = raw === null ? "" : String(raw);
  // Numbers and booleans are ours (daysLeft may be negative): only text can carry a formula.
  if (typeof raw === "string" && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv<T>(columns: readonly CsvColumn<T>[], rows: readonly T[]): string {
  const lines = [columns.map((c) => field(c.header)).join(",")];
  for (const row of rows) lines.push(columns.map((c) => field(c.value(row))).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
