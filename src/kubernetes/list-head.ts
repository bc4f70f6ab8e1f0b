/**
 * The head of a list answer, read before its body has all arrived. The API server writes
 * `{"kind":..,"apiVersion":..,"metadata":{"resourceVersion":"..","continue":".."},"items":[...`:
 * the continue token is known from the first chunk, so the next page can be asked for while
 * this one still streams in. Only a hint: the page's full parse has the last word.
 */

/** What the head says, when its metadata comes before `items`. */
export interface ListHead {
  resourceVersion: string | null;
  /** `metadata.continue`; null when there is none (the last page) or it is empty. */
  continue: string | null;
}

/** Bytes of a body searched for its head: far more than any list metadata takes. */
export const HEAD_LIMIT = 64 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Index just past the string whose opening quote is at `at`, or -1 when it does not end within `end`. */
function stringEnd(bytes: Uint8Array, at: number, end: number): number {
  for (let i = at + 1; i < end; i++) {
    const c = bytes[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

/** Index just past the JSON value that starts at `at`, or -1 when it does not end within `end`. */
function valueEnd(bytes: Uint8Array, at: number, end: number): number {
  const first = bytes[at];
  if (first === QUOTE) return stringEnd(bytes, at, end);
  if (first !== 0x7b && first !== 0x5b) {
    // A number, true, false or null: up to the next delimiter.
    for (let i = at; i < end; i++) {
      const c = bytes[i];
      if (c === 0x2c || c === 0x7d || c === 0x5d || isSpace(c)) return i;
    }
    return -1;
  }
  let depth = 0;
  for (let i = at; i < end; i++) {
    const c = bytes[i];
    if (c === QUOTE) {
      const next = stringEnd(bytes, i, end);
      if (next < 0) return -1;
      i = next - 1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

function skipSpace(bytes: Uint8Array, at: number, end: number): number {
  while (at < end && isSpace(bytes[at])) at++;
  return at;
}

function decode(bytes: Uint8Array, from: number, to: number): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The head read from `metadata`'s parsed value, or null when it is not what a list's metadata looks like. */
function headOf(metadata: unknown): ListHead | null {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return null;
  const { resourceVersion, continue: token } = metadata as Record<string, unknown>;
  if (token !== undefined && token !== null && typeof token !== 'string') return null;
  return { resourceVersion: typeof resourceVersion === 'string' ? resourceVersion : null, continue: typeof token === 'string' && token !== '' ? token : null };
}

/**
 * Reads the head of a list answer from its first `length` bytes: the metadata, when it comes
 * before `items`. Returns 'more' when those bytes end before `items` is reached (call again
 * with more), null when the head cannot be known early (no metadata before `items`, not a JSON
 * object): then only the full parse tells.
 */
export function readListHead(bytes: Uint8Array, length: number): ListHead | 'more' | null {
  const end = Math.min(length, bytes.length);
  let at = skipSpace(bytes, 0, end);
  if (at >= end) return 'more';
  if (bytes[at] !== 0x7b) return null;
  let head: ListHead | null = null;
  for (;;) {
    at = skipSpace(bytes, at + 1, end);
    if (at >= end) return 'more';
    if (bytes[at] !== QUOTE) return null;
    const keyEnd = stringEnd(bytes, at, end);
    if (keyEnd < 0) return 'more';
    const key = decode(bytes, at, keyEnd);
    at = skipSpace(bytes, keyEnd, end);
    if (at >= end) return 'more';
    if (bytes[at] !== 0x3a) return null;
    at = skipSpace(bytes, at + 1, end);
    if (at >= end) return 'more';
    // The items follow: what came before is all the head there is.
    if (key === 'items') return head;
    const stop = valueEnd(bytes, at, end);
    if (stop < 0) return 'more';
    // A later "metadata" key wins, as in JSON.parse.
    if (key === 'metadata') head = headOf(decode(bytes, at, stop));
    at = skipSpace(bytes, stop, end);
    if (at >= end) return 'more';
    if (bytes[at] !== 0x2c) return null;
  }
}
