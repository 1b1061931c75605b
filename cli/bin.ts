#!/usr/bin/env node
// The npm `quark` bin.
import { main } from "./mod.ts";

await main();
