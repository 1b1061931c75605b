// The target side of `quark copy --to` and `quark verify --to` in the CLI tests.
import { configAt } from "./fixture.config.ts";

export default () => configAt(process.env.QUARK_CLI_TARGET);
