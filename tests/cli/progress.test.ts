// Progress in a terminal redraws one line with a bar, the rate and the time left; piped, it
// prints plain lines now and then. A fake clock drives it, so nothing depends on real time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startProgress } from "../../cli/progress.ts";

function capture(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, output: { isTTY, columns: 100, write: (text: string) => writes.push(text) } };
}

test("in a terminal: one redrawn line with a bar, percentage, rate and ETA", () => {
  let now = 0;
  const { writes, output } = capture(true);
  const progress = startProgress(output, "copy", 1000, 0, () => now);
  now = 5000; // opening the database: not counted in the rate
  progress.tick(100);
  now = 6000;
  progress.tick(100);
  progress.done("copied 1000 states");
  assert.equal(writes.length, 3);
  assert.ok(writes.slice(0, 2).every((text) => text.startsWith("\r\x1b[2K") && !text.includes("\n")));
  assert.equal(writes[1], "\r\x1b[2Kcopy [######------------------------] 20% 200/1000 200/s ETA 4s");
  assert.equal(writes[2], "\r\x1b[2Kcopied 1000 states\n");
});

test("piped: plain lines every two seconds, no escape codes, and work resumed is not in the rate", () => {
  let now = 0;
  const { writes, output } = capture(false);
  const progress = startProgress(output, "export", 100, 40, () => now);
  progress.tick(10);
  now = 1000;
  progress.tick(10);
  now = 2500;
  progress.tick(10);
  progress.done("exported 100 records");
  assert.deepEqual(writes, ["export 70/100 12/s ETA 3s\n", "exported 100 records\n"]);
});
