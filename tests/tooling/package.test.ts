// The npm package: it builds, publint and @arethetypeswrong/cli pass, the tarball holds only
// what users need, and the tarball installed into a scratch project runs a stateful actor
// and type-checks a consumer on Node.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

const root = new URL("../..", import.meta.url).pathname;
const bin = (name: string) => join(root, "node_modules/.bin", name);
const work = join(root, ".cache/package-test");
const packageJson = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

function run(command: string, args: readonly string[], cwd = root): string {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${result.status}:\n${output}`);
  return output;
}

let tarball = "";
let files: string[] = [];

before(() => {
  run(process.execPath, [join(root, "scripts/build.mjs")]);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const [packed] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work])) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, packed!.filename);
  files = packed!.files.map((file) => file.path);
});

test("publint passes, warnings included", () => {
  const output = run(bin("publint"), ["--strict"]);
  assert.match(output, /All good!/);
});

test("@arethetypeswrong/cli passes for ESM resolution (node16 from ESM, bundler)", () => {
  run(bin("attw"), ["--pack", ".", "--profile", "esm-only"]);
});

test("the tarball holds only what users need", () => {
  // The docs ship too, so the README's relative links work on npm.
  const allowed = /^(package\.json|README\.md|LICENSE|dist\/.+\.(js|d\.ts)|docs\/.+\.md)$/;
  const unexpected = files.filter((path) => !allowed.test(path) || /\.test(-d)?\./.test(path) || path.startsWith("dist/tests/"));
  assert.deepEqual(unexpected, [], "files users do not need");
  for (const targets of Object.values(packageJson.exports) as Array<Record<string, string>>) {
    for (const target of Object.values(targets)) assert.ok(files.includes(target.replace(/^\.\//, "")), `${target} is packed`);
  }
  assert.ok(files.includes("README.md"), "README.md is packed");
});

test("the packed tarball runs a stateful actor in a scratch project on Node", () => {
  const scratch = join(work, "scratch");
  mkdirSync(scratch, { recursive: true });
  writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  const valibot = JSON.parse(readFileSync(join(root, "node_modules/valibot/package.json"), "utf8")).version;
  // Offline-capable: the tarball is local and valibot and devalue come from the npm cache
  // when they are there.
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball, `valibot@${valibot}`], scratch);
  writeFileSync(join(scratch, "main.ts"), `
import * as v from "valibot";
import { createActorSystem, defineActor, defineState, isQuarkError, memoryStorage } from "@quark/persistence";
import { runStorageConformance } from "@quark/persistence/testing";

const balance = defineState("balance", { schema: v.object({ cents: v.pipe(v.number(), v.minValue(0)) }), initial: { cents: 0 } });
const Account = defineActor("account", {
  states: { balance },
  handlers: {
    async deposit({ states }, cents: number) {
      states.balance.value = { cents: states.balance.value.cents + cents };
      await states.balance.save();
      return states.balance.value.cents;
    },
  },
});
const storage = memoryStorage();
const first = createActorSystem({ storage });
await first.actor(Account, "alice").deposit(500);
await first.shutdown();
const second = createActorSystem({ storage });
const cents: number = await second.actor(Account, "alice").deposit(250);
try {
  await second.actor(Account, "alice").deposit(-10_000);
  throw new Error("an invalid balance was saved");
} catch (error) {
  if (!isQuarkError(error, "STATE_VALIDATION")) throw error;
}
await second.shutdown();
console.log(JSON.stringify({ cents, suite: typeof runStorageConformance }));
`);
  writeFileSync(join(scratch, "tsconfig.json"), JSON.stringify({
    compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, outDir: "out", lib: ["ES2024", "DOM"], types: [], skipLibCheck: false },
    files: ["main.ts"],
  }));
  // The consumer type-checks against the packed .d.ts (library checks on), then runs as JS.
  run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "."], scratch);
  const output = execFileSync(process.execPath, [join(scratch, "out/main.js")], { cwd: scratch, encoding: "utf8" });
  assert.deepEqual(JSON.parse(output.trim()), { cents: 750, suite: "function" });
});
