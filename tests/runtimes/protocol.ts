// The wire protocol between a test runner on Node and the cases running inside a Worker or
// Vercel Edge isolate. Both sides import these types; nothing here touches a runtime API.
import type { TestRegistrar } from "../../src/testing/mod.ts";

/** Connection settings, passed as Worker bindings or as the edge `QUARK_ENV` global. */
export type RuntimeEnv = Readonly<Record<string, string | undefined>>;

/** A group of cases that runs inside the isolate. */
export interface RuntimeSuite {
  /** Label used in case names and reports, such as `"upstash"`. */
  readonly name: string;
  /**
   * Registers the suite's cases. Called once per isolate, inside a request, so it may do
   * I/O (create tables); cases run later, each in a request of its own.
   */
  register(test: TestRegistrar, env: RuntimeEnv, skip: (name: string, reason: string) => void): void | Promise<void>;
}

/** One entry of `GET /cases`. */
export interface CaseInfo {
  readonly suite: string;
  readonly name: string;
  /** Why the case cannot run in this runtime, when it cannot. */
  readonly skip?: string;
}

/** The answer of `POST /run?case=…`. */
export type CaseResult =
  | { readonly ok: true; readonly ms: number }
  | { readonly ok: false; readonly ms: number; readonly error: RemoteError };

/** An error thrown inside the isolate, flattened for JSON. */
export interface RemoteError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
  readonly cause?: RemoteError;
}
