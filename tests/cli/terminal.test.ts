// The progress bar as a user sees it: `quark export` of a few thousand states in a real
// pseudo-terminal redraws one line (carriage return, erase line) with a bar, the percentage,
// the count, the rate and the time left, and ends with the summary. Piped output (plain lines)
// is checked in cli.test.ts; the line's layout on a fake clock in progress.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { canUseTerminal, quark, seedAt, SOURCE_CONFIG, tempDir } from "./harness.ts";

const name = "in a pseudo-terminal, export draws a progress bar with rate and ETA, then its summary";
const terminal = canUseTerminal();
if (!terminal) console.warn(`SKIP ${name}: python3 with its pty module is not on PATH`);

test(name, { skip: terminal ? false : "python3 with its pty module is not on PATH" }, async () => {
  const states = 2000;
  const source = join(tempDir(), "source");
  await seedAt(source, { states, events: 0, streams: 0 });
  const out = join(tempDir(), "export.ndjson");
  const run = await quark(["export", "--out", out, "--page-size", "50", "--config", SOURCE_CONFIG], { source, streams: 0, terminal: true });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const redraws = run.stdout.split("\r\x1b[2K").slice(1);
  const bars = redraws.filter((line) => line.startsWith("export ["));
  assert.ok(bars.length >= 2, `at least two redraws of the bar:\n${JSON.stringify(run.stdout.slice(0, 400))}`);
  const pattern = new RegExp(`^export \\[[#-]{10,30}\\] \\d{1,3}% \\d+/${states} \\d+/s( ETA \\d+(s|m\\d\\ds))?$`);
  for (const bar of bars) assert.match(bar, pattern, "one line, redrawn in place, never a newline");
  assert.ok(bars.some((bar) => / ETA \d/.test(bar)), "once the rate is known, the time left shows");
  assert.match(redraws.at(-1)!, new RegExp(`^exported ${states} states, 0 events, 0 snapshots to \\S+\\r?\\n$`));
});
