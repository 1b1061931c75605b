import { CorruptDataError, DecodeLimitError } from "../errors.ts";

/** Gzips bytes with the Web `CompressionStream`. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// Input is fed in slices this small because gzip inflates at most about 1032:1, so one slice
// can never produce more than about 8 MiB past the bound before the reader sees it.
const INPUT_SLICE_BYTES = 8 * 1024;

/**
 * Gunzips bytes with the Web `DecompressionStream`, streaming, and stops as soon as the output
 * passes `maxBytes`, so a bomb never inflates in memory.
 *
 * @throws {DecodeLimitError} When the output would pass `maxBytes`.
 * @throws {CorruptDataError} When the input is not gzip.
 */
export async function gunzip(bytes: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  const stream = new DecompressionStream("gzip");
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const feeding = (async () => {
    for (let offset = 0; offset < bytes.byteLength; offset += INPUT_SLICE_BYTES) {
      await writer.write(bytes.subarray(offset, offset + INPUT_SLICE_BYTES) as Uint8Array<ArrayBuffer>);
    }
    await writer.close();
  })();
  // Once reading stops, the writer's pending promises reject; those rejections are expected.
  feeding.catch(() => {});
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new DecodeLimitError("decompressed size in bytes", maxBytes);
      }
      chunks.push(value);
    }
    await feeding;
  } catch (cause) {
    if (cause instanceof DecodeLimitError) throw cause;
    throw new CorruptDataError("Stored value failed to decompress", { cause });
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
