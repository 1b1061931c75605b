// The actor every recipe serves: one counter per id. `conflict: "retry"` is what lets several
// processes or isolates share a counter: a turn whose save finds that another process wrote
// first reloads the stored count and runs again, so every increment counts once.
import * as v from "valibot";
import { defineActor, defineState } from "../../mod.ts";

const count = defineState("count", {
  schema: v.pipe(v.number(), v.integer(), v.minValue(0)),
  initial: 0,
});

export const Counter = defineActor("counter", {
  states: { count },
  conflict: "retry",
  handlers: {
    async increment({ states }) {
      states.count.value += 1;
      await states.count.save(); // written before the reply, so an answered request is durable
      return states.count.value;
    },
    // An active actor keeps the count it last loaded or saved. Where other processes or
    // isolates write the same counter, that copy can be behind, so a read loads first.
    async read({ states }) {
      await states.count.load();
      return states.count.value;
    },
  },
});
