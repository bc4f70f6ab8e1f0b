import { KubernetesApiError, KubernetesApiErrorCode } from './errors.js';

/** Longest NDJSON line accepted by default, in characters (an EndpointSlice of 100 endpoints is ~30 KB). */
export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024 * 1024;

/** What {@link parseNdjson} takes. */
export interface NdjsonOptions {
  /** Longest line accepted, characters; a longer one rejects EBADRESP (default 16 Mi). */
  maxLineLength?: number;
  /** Where the stream comes from, for error messages. */
  url?: string;
}

/**
 * Parses newline-delimited JSON from a stream of chunks (an undici body) as it arrives:
 * one value per line, lines split across chunks joined, UTF-8 split across chunks decoded
 * right, blank lines skipped. Holds at most one line in memory; a line longer than
 * `maxLineLength` or one that is not JSON rejects with {@link KubernetesApiError} EBADRESP.
 */
export async function* parseNdjson(
  chunks: AsyncIterable<Uint8Array | string>,
  options: NdjsonOptions = {},
): AsyncGenerator<unknown, void, undefined> {
  const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const decoder = new TextDecoder('utf-8', { fatal: false });
  // Pieces of the unfinished line: joined once, when its newline arrives (no quadratic concatenation).
  let parts: string[] = [];
  let pending = 0;
  let lineNumber = 0;
  const tooLong = (): KubernetesApiError =>
    new KubernetesApiError(
      KubernetesApiErrorCode.BADRESP,
      `a line of the watch stream exceeds ${max} characters (line ${lineNumber + 1}${options.url ? ` of ${options.url}` : ''}): ` +
        'the stream is not NDJSON or an object is far bigger than an EndpointSlice can be',
      { url: options.url ?? null },
    );
  const parse = (line: string): unknown => {
    lineNumber++;
    try {
      return JSON.parse(line);
    } catch (err) {
      throw new KubernetesApiError(
        KubernetesApiErrorCode.BADRESP,
        `line ${lineNumber} of the watch stream is not JSON (${(err as Error).message}): ${JSON.stringify(line.slice(0, 80))}`,
        { url: options.url ?? null, cause: err },
      );
    }
  };
  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (pending + piece.length > max) throw tooLong();
      const line = parts.length === 0 ? piece : parts.join('') + piece;
      parts = [];
      pending = 0;
      if (line.trim() === '') {
        lineNumber++;
        continue;
      }
      yield parse(line);
    }
    if (start < text.length) {
      const rest = text.slice(start);
      pending += rest.length;
      if (pending > max) throw tooLong();
      parts.push(rest);
    }
  }
  const tail = parts.join('') + decoder.decode();
  if (tail.length > max) throw tooLong();
  if (tail.trim() !== '') yield parse(tail);
}
