/** RFC 4180 CSV: CRLF line ends, fields quoted when they hold a comma, quote or line break. */

export interface CsvColumn<T> {
  header: string;
  value: (row: T) => string | number | boolean | null;
  /** Free text a person typed: neutralised against spreadsheet formula injection (OWASP). */
  text?: boolean;
}

function field(raw: string | number | boolean | null, text: boolean): string {
  let s = raw === null ? "" : String(raw);
  if (text && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv<T>(columns: readonly CsvColumn<T>[], rows: readonly T[]): string {
  const lines = [columns.map((c) => field(c.header, false)).join(",")];
  for (const row of rows) lines.push(columns.map((c) => field(c.value(row), c.text === true)).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
