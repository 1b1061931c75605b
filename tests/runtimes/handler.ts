// The request handler that runs inside the isolate: `GET /cases` registers and lists the
// cases, `POST /run?case=<name>` runs one and reports how it went. The Workers and Vercel
// Edge entries are thin wrappers around it.
import type { CaseInfo, CaseResult, RemoteError, RuntimeEnv, RuntimeSuite } from "./protocol.ts";

function flatten(error: unknown, depth = 0): RemoteError {
  if (!(error instanceof Error)) return { name: typeof error, message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    code: typeof code === "string" ? code : undefined,
    stack: error.stack,
    cause: error.cause !== undefined && depth < 4 ? flatten(error.cause, depth + 1) : undefined,
  };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** Builds the isolate's fetch handler over the given suites. */
export function createHandler(suites: readonly RuntimeSuite[]): (request: Request, env: RuntimeEnv) => Promise<Response> {
  const bodies = new Map<string, () => Promise<void>>();
  let listing: CaseInfo[] | undefined;

  async function register(env: RuntimeEnv): Promise<CaseInfo[]> {
    const cases: CaseInfo[] = [];
    for (const suite of suites) {
      await suite.register(
        (name, body) => {
          if (bodies.has(name)) throw new Error(`Two cases are named ${JSON.stringify(name)}`);
          bodies.set(name, body);
          cases.push({ suite: suite.name, name });
        },
        env,
        (name, reason) => cases.push({ suite: suite.name, name, skip: reason }),
      );
    }
    return cases;
  }

  return async (request, env) => {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/cases") {
        listing ??= await register(env);
        return json(listing);
      }
      if (url.pathname === "/run") {
        const name = url.searchParams.get("case") ?? "";
        const body = bodies.get(name);
        if (!body) return json({ error: `No case named ${JSON.stringify(name)}; call /cases first` }, 404);
        const started = Date.now();
        try {
          await body();
          return json({ ok: true, ms: Date.now() - started } satisfies CaseResult);
        } catch (error) {
          return json({ ok: false, ms: Date.now() - started, error: flatten(error) } satisfies CaseResult);
        }
      }
      return json({ error: `Unknown path ${url.pathname}` }, 404);
    } catch (error) {
      return json({ error: flatten(error) }, 500);
    }
  };
}
