import { CorruptDataError } from "../errors.ts";

async function pipeThrough(bytes: Uint8Array, transform: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(transform);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Gzips bytes with the Web `CompressionStream`. */
export function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  return pipeThrough(bytes, new CompressionStream("gzip"));
}

/** Gunzips bytes with the Web `DecompressionStream`; corrupt input gives `CorruptDataError`. */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  try {
    return await pipeThrough(bytes, new DecompressionStream("gzip"));
  } catch (cause) {
    throw new CorruptDataError("Stored value failed to decompress", { cause });
  }
}
