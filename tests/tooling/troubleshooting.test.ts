// The guide's troubleshooting table shows each error exactly as it is printed. Each row is
// triggered here (docs-troubles.ts) and its text compared: every character must match, and
// `…` in the guide stands for a part that changes from run to run, such as an etag.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./docs-blocks.ts";
import { triggers } from "./docs-troubles.ts";

interface Row {
  readonly symptom: string;
  readonly printed: string;
}

/** The rows of the table under "**Troubleshooting.**": | symptom | `printed` | cause and fix |. */
function troubleshootingRows(): Row[] {
  const guide = readFileSync(join(root, "docs/guide.md"), "utf8");
  const section = guide.slice(guide.indexOf("**Troubleshooting.**"));
  return [...section.matchAll(/^\| ([^|`]+?) \| `(.+?)` \|/gm)].map((match) => ({ symptom: match[1]!, printed: match[2]! }));
}

/** The printed text as a pattern: literal except `…`, which matches any non-empty text. */
function pattern(printed: string): RegExp {
  return new RegExp(`^${printed.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".+")}$`, "m");
}

const rows = troubleshootingRows();

test("the troubleshooting table has a trigger for every row, and a row for every trigger", () => {
  assert.ok(rows.length >= 10, `found ${rows.length} rows`);
  assert.deepEqual(rows.map((row) => row.symptom).sort(), Object.keys(triggers).sort());
});

for (const row of rows) {
  const trigger = triggers[row.symptom];
  test(`troubleshooting: "${row.symptom}" prints what the guide shows`, { skip: trigger ? false : "no trigger" }, async () => {
    const outcome = await trigger!();
    const printed = outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : String(outcome);
    assert.match(printed, pattern(row.printed));
  });
}
