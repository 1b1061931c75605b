import type { StorageCapabilities, TransactOperation, WriteRequest } from "./types.ts";
import { CapabilityError, ValueTooLargeError } from "../errors.ts";
import { assertValidKey } from "./keys.ts";

/**
 * Checks a write against a backend's declared capabilities before anything is sent, so
 * every backend refuses oversized values and unsupported TTLs the same way.
 *
 * @param backend The backend's name, for messages.
 * @param capabilities What the backend supports.
 * @param request The write about to be sent.
 * @throws {InvalidKeyError} When a key part is not well-formed UTF-16 or holds a NUL.
 * @throws {ValueTooLargeError} When the value exceeds `maxValueBytes`.
 * @throws {CapabilityError} When a TTL is asked of a backend without TTL support.
 * @throws {RangeError} When the TTL is not a positive number of milliseconds.
 *
 * @example A value over the backend's limit is refused
 * ```ts
 * import { assertWritable, isQuarkError } from "@quark/persistence";
 * const capabilities = { transactions: false, ttl: false, list: true, maxValueBytes: 4 };
 * const key = { actorType: "t", actorId: "1", stateName: "s" };
 * try {
 *   assertWritable("tiny", capabilities, { key, value: new Uint8Array(5), etag: "e", expectedEtag: null });
 *   throw new Error("should have refused");
 * } catch (error) {
 *   if (!isQuarkError(error, "VALUE_TOO_LARGE")) throw error;
 * }
 * ```
 */
export function assertWritable(backend: string, capabilities: StorageCapabilities, request: WriteRequest): void {
  assertValidKey(request.key);
  if (request.value.byteLength > capabilities.maxValueBytes) {
    throw new ValueTooLargeError(backend, request.value.byteLength, capabilities.maxValueBytes);
  }
  if (request.ttlMs === undefined) return;
  if (!capabilities.ttl) throw new CapabilityError(backend, "ttl");
  if (!Number.isFinite(request.ttlMs) || request.ttlMs <= 0) {
    throw new RangeError(`TTL must be a positive number of milliseconds, got ${request.ttlMs}`);
  }
}

/**
 * Checks a transaction against a backend's declared capabilities before anything is sent.
 *
 * @param backend The backend's name, for messages.
 * @param capabilities What the backend supports.
 * @param operations The operations about to be sent.
 * @throws {CapabilityError} When transactions are unsupported, or the batch has more operations
 *   than `maxTransactionOperations` or more bytes of values than `maxTransactionBytes`. A batch
 *   that is too big as a whole is a capability limit, not a value that is too large: each value
 *   may fit on its own, and the remedy is to split the batch.
 * @throws {ValueTooLargeError} When a value is too big.
 * @throws {RangeError} When one key appears twice, which no backend can apply atomically in order.
 *
 * @example A backend without transactions refuses a batch
 * ```ts
 * import { assertTransactable, isQuarkError } from "@quark/persistence";
 * const capabilities = { transactions: false, ttl: false, list: true, maxValueBytes: 1024 };
 * try {
 *   assertTransactable("kv", capabilities, []);
 *   throw new Error("should have refused");
 * } catch (error) {
 *   if (!isQuarkError(error, "CAPABILITY")) throw error;
 * }
 * ```
 */
export function assertTransactable(
  backend: string,
  capabilities: StorageCapabilities,
  operations: readonly TransactOperation[],
): void {
  if (!capabilities.transactions) throw new CapabilityError(backend, "transactions");
  const limit = capabilities.maxTransactionOperations;
  if (limit !== undefined && operations.length > limit) {
    throw new CapabilityError(backend, `transactions of ${operations.length} operations`, `the limit is ${limit}`);
  }
  const byteLimit = capabilities.maxTransactionBytes;
  if (byteLimit !== undefined) {
    let total = 0;
    for (const operation of operations) if (operation.kind === "write") total += operation.value.byteLength;
    if (total > byteLimit) {
      throw new CapabilityError(backend, `transactions of ${total} bytes of values`, `the limit is ${byteLimit} bytes`);
    }
  }
  const seen = new Set<string>();
  for (const operation of operations) {
    const id = JSON.stringify([operation.key.actorType, operation.key.actorId, operation.key.stateName]);
    if (seen.has(id)) throw new RangeError(`A transaction names the same state twice: ${id}`);
    seen.add(id);
    assertValidKey(operation.key);
    if (operation.kind === "write") assertWritable(backend, capabilities, operation);
  }
}
