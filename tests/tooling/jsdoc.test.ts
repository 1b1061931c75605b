// Every public export carries JSDoc with a description and at least one `@example`, read
// from `deno doc --json` for each JSR entrypoint, so the published docs never show a bare
// symbol. One test per entrypoint; a failure names every symbol that still lacks one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const deno = join(root, "node_modules", ".bin", "deno");
const jsr = JSON.parse(readFileSync(join(root, "jsr.json"), "utf8")) as { exports: Record<string, string> };

// The parts of `deno doc --json` (format version 2) that this check reads.
interface DocTag {
  readonly kind: string;
}
interface DocDeclaration {
  readonly kind: string;
  readonly declarationKind?: string;
  readonly jsDoc?: { readonly doc?: string; readonly tags?: readonly DocTag[] };
}
interface DocSymbol {
  readonly name: string;
  readonly declarations: readonly DocDeclaration[];
}
interface DocOutput {
  readonly version: number;
  readonly nodes: Readonly<Record<string, { readonly symbols?: readonly DocSymbol[] }>>;
}

function exportedSymbols(file: string): DocSymbol[] {
  const result = spawnSync(deno, ["doc", "--json", file], { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  assert.equal(result.status, 0, `deno doc --json ${file} failed:\n${result.stderr}`);
  const output = JSON.parse(result.stdout) as DocOutput;
  assert.equal(output.version, 2, "deno doc --json changed its format; update this test");
  return Object.values(output.nodes).flatMap((node) => node.symbols ?? []);
}

/** What a symbol lacks, such as `"description, @example"`, or `undefined` when complete. */
function missingParts(symbol: DocSymbol): string | undefined {
  const declarations = symbol.declarations.filter((declaration) => declaration.declarationKind !== "private");
  const described = declarations.some((declaration) => (declaration.jsDoc?.doc ?? "").trim() !== "");
  const exemplified = declarations.some((declaration) => declaration.jsDoc?.tags?.some((tag) => tag.kind === "example"));
  const missing = [described ? undefined : "description", exemplified ? undefined : "@example"].filter(Boolean);
  return missing.length ? missing.join(", ") : undefined;
}

for (const [subpath, target] of Object.entries(jsr.exports)) {
  const file = target.replace(/^\.\//, "");
  const name = `every export of ${subpath} (${file}) has a description and an @example`;
  if (!existsSync(join(root, file))) {
    test(name, { skip: `${file} does not exist yet` }, () => {});
    continue;
  }
  test(name, () => {
    const symbols = exportedSymbols(file);
    assert.ok(symbols.length > 0, `${file} exports nothing`);
    const gaps = symbols.flatMap((symbol) => {
      const missing = missingParts(symbol);
      return missing ? [`  ${symbol.name} (${symbol.declarations[0]?.kind ?? "?"}): no ${missing}`] : [];
    });
    assert.equal(gaps.length, 0, `${file}: ${gaps.length} of ${symbols.length} exports lack JSDoc:\n${gaps.join("\n")}`);
  });
}
