// Runs every ```ts block of the README and the Persistence guide as its own program, so
// the documentation cannot drift from the code. A block preceded by `<!-- needs: NAME -->`
// runs when that environment variable is set (npm test sets it by starting the server).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const snippetDir = join(root, ".cache", "doc-snippets");
mkdirSync(snippetDir, { recursive: true });

function entryPath(subpath: string | undefined): string {
  if (subpath === undefined) return join(root, "mod.ts");
  if (subpath === "testing") return join(root, "src", "testing", "mod.ts");
  return join(root, "adapters", subpath, "mod.ts");
}

interface Snippet {
  readonly line: number;
  readonly code: string;
  readonly needs?: string;
}

function snippetsOf(markdown: string): Snippet[] {
  const snippets: Snippet[] = [];
  const pattern = /(?:<!-- needs: ([A-Z0-9_]+) -->\n)?```ts\n([\s\S]*?)```/g;
  for (const match of markdown.matchAll(pattern)) {
    const line = markdown.slice(0, match.index).split("\n").length;
    snippets.push({ line, code: match[2]!, needs: match[1] });
  }
  return snippets;
}

for (const doc of ["README.md", "docs/guide.md", "docs/semantics.md", "docs/observability.md", "docs/deployment.md"]) {
  const snippets = snippetsOf(readFileSync(join(root, doc), "utf8"));
  test(`${doc} has examples`, () => assert.ok(snippets.length > 0));
  for (const snippet of snippets) {
    const missing = snippet.needs && !process.env[snippet.needs];
    test(`${doc}:${snippet.line} runs`, { skip: missing ? `${snippet.needs} is not set (npm test starts its server)` : false }, () => {
      const code = snippet.code.replace(/from "@quark\/persistence(?:\/([a-z]+))?"/g, (_all, subpath) => `from ${JSON.stringify(entryPath(subpath))}`);
      const file = join(snippetDir, `${doc.replace(/\W/g, "_")}_${snippet.line}.ts`);
      writeFileSync(file, code);
      const result = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), file], {
        cwd: mkdtempSync(join(tmpdir(), "quark-doc-")),
        encoding: "utf8",
        timeout: 300_000,
      });
      assert.equal(result.status, 0, `${doc}:${snippet.line} failed:\n${result.stdout}\n${result.stderr}`);
    });
  }
}
