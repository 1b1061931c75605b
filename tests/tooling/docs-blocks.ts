// Reads the fenced blocks of the Markdown docs (README.md and docs/**/*.md) under one closed
// set of info strings, so that no block is skipped by accident:
//
//   ```ts            TypeScript: type-checked under the strict configuration, then run
//   ```ts ignore     TypeScript: type-checked, never run (it needs what a test cannot give,
//                    such as a cloud account); the same marker as JSDoc `@example` blocks
//   ```sh ```bash ```console ```text ```json ```jsonc ```toml ```ndjson ```sql
//                    not TypeScript: shown, never checked
//
// Any other info string, or none, is refused with its file and line. A `ts` block right
// after `<!-- needs: NAME [NAME…] -->` runs only when those environment variables are set
// (npm test sets them by starting the servers).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export const root = new URL("../..", import.meta.url).pathname;

/** Info strings of blocks that are shown but never checked. */
const SHOWN_ONLY = new Set(["sh", "bash", "console", "text", "json", "jsonc", "toml", "ndjson", "sql"]);

export interface CodeBlock {
  /** The Markdown file, relative to the repository root. */
  readonly doc: string;
  /** The line of the opening fence, 1-based. */
  readonly line: number;
  readonly run: boolean;
  readonly needs: readonly string[];
  readonly code: string;
}

export interface FenceProblem {
  readonly doc: string;
  readonly line: number;
  readonly problem: string;
}

/** README.md and every Markdown file under docs/, found by walking the folder. */
export function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(root, dir)).sort().flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(join(root, path)).isDirectory()) return walk(path);
      return path.endsWith(".md") ? [path] : [];
    });
  return ["README.md", ...walk("docs")];
}

/** The TypeScript blocks of one Markdown file, and every fence it uses that is not allowed. */
export function readBlocks(doc: string): { blocks: CodeBlock[]; problems: FenceProblem[] } {
  const lines = readFileSync(join(root, doc), "utf8").split("\n");
  const blocks: CodeBlock[] = [];
  const problems: FenceProblem[] = [];
  let open: { line: number; indent: string; fence: string; info: string; code: string[] } | undefined;
  lines.forEach((text, index) => {
    const fence = /^(\s*)(`{3,}|~{3,})\s*(.*?)\s*$/.exec(text);
    if (open) {
      if (fence && fence[2]!.startsWith(open.fence) && fence[3] === "") {
        if (open.info === "ts" || open.info === "ts ignore") {
          blocks.push({
            doc,
            line: open.line,
            run: open.info === "ts",
            needs: needsBefore(lines, open.line - 1),
            code: open.code.join("\n"),
          });
        }
        open = undefined;
      } else {
        open.code.push(text.startsWith(open.indent) ? text.slice(open.indent.length) : text);
      }
      return;
    }
    if (!fence) return;
    const info = fence[3]!;
    if (info !== "ts" && info !== "ts ignore" && !SHOWN_ONLY.has(info)) {
      problems.push({ doc, line: index + 1, problem: info ? `unknown fence "${fence[2]}${info}"` : `fence without a language` });
    }
    open = { line: index + 1, indent: fence[1]!, fence: fence[2]!, info, code: [] };
  });
  if (open) problems.push({ doc, line: open.line, problem: "fence never closed" });
  return { blocks, problems };
}

/** The variables named by a `<!-- needs: … -->` comment on the line before a fence. */
function needsBefore(lines: readonly string[], fenceIndex: number): string[] {
  const comment = /^\s*<!-- needs: ([A-Z0-9_ ]+) -->\s*$/.exec(lines[fenceIndex - 1] ?? "");
  return comment ? comment[1]!.trim().split(/\s+/) : [];
}

/** The source file of each public entrypoint, from the export map that JSR publishes. */
const exportsMap = (JSON.parse(readFileSync(join(root, "deno.json"), "utf8")) as { exports: Record<string, string> }).exports;

/**
 * The block's code with `@quark/persistence` and its subpaths pointing at the sources,
 * relative to `dir`, so that tsc, Node (tsx), Deno and Bun all read the same files.
 */
export function withSourceImports(code: string, dir: string): string {
  return code.replace(/(["'])@quark\/persistence(\/[a-z0-9-]+)?\1/g, (all, quote: string, subpath: string | undefined) => {
    const target = exportsMap[`.${subpath ?? ""}`];
    if (!target) return all; // an unknown subpath stays as written, and fails as a user's would
    const path = relative(dir, join(root, target));
    return `${quote}${path.startsWith(".") ? path : `./${path}`}${quote}`;
  });
}
