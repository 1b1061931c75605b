// Compile-time checks, run by tsc in tests/tooling/types.test.ts; nothing here executes.
// Every `@ts-expect-error` must meet an error, so each marks something the types refuse.
import * as v from "valibot";
import { createActorSystem, defineActor, defineState, memoryStorage, type StateHandle, type StateValue } from "../../mod.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function expectTrue<_ extends true>(): void {}

const profile = defineState("profile", {
  schema: v.object({
    name: v.string(),
    age: v.pipe(v.number(), v.integer()),
    tags: v.array(v.string()),
    born: v.optional(v.date()),
  }),
  initial: { name: "", age: 0, tags: [] },
});
expectTrue<Equal<StateValue<typeof profile>, { name: string; age: number; tags: string[]; born?: Date | undefined }>>();

// The value type is the schema's output, after transforms.
const port = defineState("port", { schema: v.pipe(v.string(), v.transform(Number)), initial: 8080 });
expectTrue<Equal<StateValue<typeof port>, number>>();

// @ts-expect-error the initial value must match the schema
defineState("count", { schema: v.object({ n: v.number() }), initial: { n: "zero" } });

const Person = defineActor("person", {
  states: { profile, port },
  handlers: {
    async rename({ states }, name: string) {
      expectTrue<Equal<typeof states.profile, StateHandle<StateValue<typeof profile>>>>();
      states.profile.value.name = name;
      await states.profile.save();
      return states.profile.value;
    },
    async misuse({ states }) {
      // @ts-expect-error a field of the wrong type
      states.profile.value.age = "forty";
      // @ts-expect-error a whole value of the wrong shape
      states.profile.value = { name: 1, age: 2, tags: [] };
      // @ts-expect-error a field the schema does not have
      states.profile.value = { name: "a", age: 2, tags: [], nickname: "b" };
      // @ts-expect-error a state the actor does not declare
      await states.settings.save();
      // @ts-expect-error a number state holds numbers only
      states.port.value = "80";
    },
    birthday({ states }, years: number, note?: string) {
      return { age: states.profile.value.age + years, note };
    },
  },
});

export async function callers(): Promise<void> {
  const system = createActorSystem({ storage: memoryStorage() });
  const person = system.actor(Person, "p1");

  const renamed = await person.rename("Ada");
  expectTrue<Equal<typeof renamed, StateValue<typeof profile>>>();
  const older = await person.birthday(1);
  expectTrue<Equal<typeof older, { age: number; note: string | undefined }>>();
  await person.birthday(1, "party");

  // @ts-expect-error a handler argument of the wrong type
  await person.rename(42);
  // @ts-expect-error a missing handler argument
  await person.rename();
  // @ts-expect-error an extra handler argument
  await person.rename("Ada", "Lovelace");
  // @ts-expect-error the optional argument keeps its type
  await person.birthday(1, 2);
  // @ts-expect-error a handler the actor does not have
  await person.fly();
}
