import { test } from "node:test";
import assert from "node:assert/strict";
import { isQuarkError, QuarkError, StateConflictError, StorageUnavailableError } from "../../mod.ts";

test("isQuarkError recognises errors from another copy of the library by shape", () => {
  class ForeignConflict extends Error {
    code = "STATE_CONFLICT";
    override name = "StateConflictError";
  }
  assert.ok(isQuarkError(new ForeignConflict("x"), "STATE_CONFLICT"));
  assert.ok(!isQuarkError(new ForeignConflict("x"), "CONFIGURATION"));
  assert.ok(!isQuarkError(Object.assign(new Error("x"), { code: "ECONNREFUSED" })));
  assert.ok(!isQuarkError({ code: "STATE_CONFLICT", name: "StateConflictError" }), "plain objects are not errors");
});

test("errors carry their details and cause", () => {
  const key = { actorType: "a:b", actorId: "c", stateName: "s" };
  const conflict = new StateConflictError(key, null, "e2");
  assert.ok(conflict instanceof QuarkError);
  assert.match(conflict.message, /"a:b"\/"c"\/"s"/);
  assert.match(conflict.message, /expected no state, found "e2"/);
  const cause = new Error("ECONNREFUSED");
  const unavailable = new StorageUnavailableError("postgres", "write", cause);
  assert.equal(unavailable.cause, cause);
  assert.match(unavailable.message, /postgres/);
});
