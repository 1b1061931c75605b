// The actor both observer integration tests drive: a counter whose conflicts are retried, so
// a turn racing another system reports a conflict, a retry and a second attempt.
import * as v from "valibot";
import { defineActor, defineState } from "../../mod.ts";

const count = defineState("count", { schema: v.number(), initial: 0 });

export const Counter = defineActor("counter", {
  states: { count },
  conflict: "retry",
  handlers: {
    async add({ states }, by: number) {
      states.count.value += by;
      await states.count.save();
      return states.count.value;
    },
  },
});
