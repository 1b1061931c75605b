// What both sides of the cross-process lease race share: the real clock, short leases, and
// a short random pause before each step so that abandoned leases expire during the race.
import type { ContenderOptions, LeaseTimings } from "../../src/testing/lease_conformance.ts";

export const timings: LeaseTimings = { now: Date.now, ttlMs: 60, maxClockSkewMs: 5 };

export function raceOptions(actorType: string, random: () => number): Omit<ContenderOptions, "storage" | "holder"> {
  const pause = () => new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 15)));
  return { actorType, ids: 3, steps: 40, random, tick: pause, timings };
}
