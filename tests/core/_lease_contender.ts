// One side of the cross-process lease race: contends for leases on PostgreSQL with the
// holders named in argv, on the real clock: prints `ready` once connected, then what it was
// told as one JSON line.
import process from "node:process";
import { postgresStorage } from "../../adapters/postgres/mod.ts";
import { contendForLeases } from "../../src/testing/lease_conformance.ts";
import { generator } from "../../src/testing/contention_conformance.ts";
import { raceOptions } from "./_lease_race.ts";

const [actorType, seed, ...holders] = process.argv.slice(2);
const storage = postgresStorage({ url: process.env.POSTGRES_URL!, driverOptions: { max: 4, onnotice: () => {} } });
try {
  // Connected: tell the parent, which starts its own contenders on this line.
  await storage.read({ actorType: actorType!, actorId: "ready", stateName: "probe" });
  process.stdout.write("ready\n");
  const events = await Promise.all(holders.map((holder, index) => contendForLeases({ storage, holder, ...raceOptions(actorType!, generator(Number(seed) + index)) })));
  process.stdout.write(`${JSON.stringify(events.flat())}\n`);
} finally {
  await storage.close();
}
