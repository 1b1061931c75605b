// Progress for long commands. On a terminal one line redraws in place with a bar, the rate
// and the time left; piped, it prints a plain line now and then, so logs stay readable.
// Forty lines did not justify a dependency (the package has one, devalue): cli-progress and
// similar bring their own terminal handling, which we would need to disable when piped anyway.

/** Where progress goes: a writable with an optional TTY flag and width. */
export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
}

/** Counts work done against an optional total. */
export interface Progress {
  tick(count?: number): void;
  done(summary: string): void;
}

const REDRAW_MS = 100;
const PLAIN_EVERY_MS = 2000;

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, "0")}s`;
}

/**
 * Starts a progress line for `label`; `total` is unknown when undefined, and `alreadyDone`
 * counts work a resumed command finished before (shown, but not in the rate).
 */
export function startProgress(output: ProgressOutput, label: string, total: number | undefined, alreadyDone = 0, clock: () => number = () => performance.now()): Progress {
  // The rate counts from the first unit of work, not from the start: opening a database
  // (PGlite starts in seconds) would otherwise make the first estimates absurd.
  let started = clock();
  let counting = false;
  let done = alreadyDone;
  let doneBefore = alreadyDone;
  // Piped, the first line waits a while, so quick commands print their summary only.
  let lastDraw = output.isTTY ? -Infinity : started;

  function line(): string {
    const seconds = (clock() - started) / 1000;
    const rate = seconds > 0 ? (done - doneBefore) / seconds : 0;
    const counted = total === undefined ? `${done}` : `${done}/${total}`;
    const eta = total === undefined || rate === 0 ? "" : ` ETA ${formatDuration((total - done) / rate)}`;
    const stats = `${counted} ${Math.round(rate)}/s${eta}`;
    if (!output.isTTY || total === undefined || total === 0) return `${label} ${stats}`;
    const width = Math.max(10, Math.min(30, (output.columns ?? 80) - label.length - stats.length - 10));
    const filled = Math.round((done / total) * width);
    return `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${Math.floor((done / total) * 100)}% ${stats}`;
  }

  return {
    tick(count = 1) {
      if (!counting) {
        counting = true;
        started = clock();
        doneBefore = done;
      }
      done += count;
      const now = clock();
      if (now - lastDraw < (output.isTTY ? REDRAW_MS : PLAIN_EVERY_MS)) return;
      lastDraw = now;
      output.write(output.isTTY ? `\r\x1b[2K${line()}` : `${line()}\n`);
    },
    done(summary) {
      output.write(output.isTTY ? `\r\x1b[2K${summary}\n` : `${summary}\n`);
    },
  };
}
