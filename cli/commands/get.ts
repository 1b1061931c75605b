import { inspect } from "node:util";
import { createInspector } from "../../mod.ts";
import type { OpenConfig } from "../config.ts";
import type { parse } from "../args.ts";
import { isoOrDash, toJson, type CliIo } from "../output.ts";
import { UsageError } from "../usage_error.ts";

type Values = ReturnType<typeof parse>["values"];

/** `get ACTOR_TYPE ACTOR_ID STATE`: one state, decoded, upcast and validated where defined. */
export async function get(config: OpenConfig, positionals: string[], values: Values, io: CliIo): Promise<number> {
  const [actorType, actorId, stateName] = positionals;
  if (actorType === undefined || actorId === undefined || stateName === undefined || positionals.length > 3) {
    throw new UsageError("usage: quark get ACTOR_TYPE ACTOR_ID STATE");
  }
  const inspector = createInspector({ storage: config.storages, codec: config.codec, definitions: config.definitions });
  const state = await inspector.get({ actorType, actorId, stateName }, { storage: values.storage as string | undefined });
  if (!state) {
    io.stderr.write(`quark: no state ${actorType}/${actorId}/${stateName}\n`);
    return 1;
  }
  if (values.json) {
    io.stdout.write(`${toJson(state, 2)}\n`);
    return 0;
  }
  const version = state.currentVersion === undefined ? `${state.schemaVersion} (no definition: not upcast or validated)` : `${state.schemaVersion} (current ${state.currentVersion})`;
  io.stdout.write([
    `key        ${actorType}/${actorId}/${stateName}`,
    `etag       ${state.etag}`,
    `revision   ${state.revision}`,
    `schema     v${version}`,
    `size       ${state.sizeBytes} bytes`,
    `expires    ${isoOrDash(state.expiresAt)}`,
    `value      ${inspect(state.value, { depth: null, colors: io.stdout.isTTY === true })}`,
  ].join("\n") + "\n");
  return 0;
}
