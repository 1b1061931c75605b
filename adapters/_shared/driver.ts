// Adapters load their driver lazily, on first use. A driver that is not installed is a
// configuration mistake, not an outage: this turns the import's failure into a
// ConfigurationError that says which package to install and how.
import { ConfigurationError } from "../../src/errors.ts";

/** Whether an import failed because the package is not installed (Node, Deno and Bun word it differently). */
function isMissingModule(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" || /Cannot find (module|package)|Module not found/i.test(message);
}

/**
 * Runs `load` (a dynamic `import()` of the driver) and returns the module.
 *
 * @param adapter The adapter's entry name, such as `"mongodb"`.
 * @param packageName The npm package the adapter needs.
 * @param load The dynamic import, written out so bundlers see the specifier.
 * @throws {ConfigurationError} When the package is not installed, naming the install commands.
 */
export async function loadDriverPackage<T>(adapter: string, packageName: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (!isMissingModule(error)) throw error;
    throw new ConfigurationError(
      `The ${adapter} adapter needs the ${packageName} package, which is not installed: run npm install ${packageName} (deno add npm:${packageName}, bun add ${packageName})`,
      { cause: error },
    );
  }
}
