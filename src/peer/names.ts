/**
 * StatefulSet ordinal of a pod name: 'web-12' -> 12; null when the name has no `-N` suffix
 * (1 to 9 ASCII digits after the last `-`). A loop, not a regular expression: it runs for every
 * peer of every list.
 */
export function ordinalOf(name: string | null): number | null {
  if (name === null) return null;
  let i = name.length - 1;
  let n = 0;
  let scale = 1;
  for (; i >= 0; i--) {
    const c = name.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n += (c - 48) * scale;
    scale *= 10;
  }
  const digits = name.length - 1 - i;
  return digits >= 1 && digits <= 9 && i >= 0 && name.charCodeAt(i) === 45 ? n : null;
}

const DOT = 46;
const BACKSLASH = 92;

/**
 * First label of a host name. A label may hold an escaped dot (`we\.b-1`: DNS names are any
 * bytes, and the DNS layer escapes them as dig does), which does not end it.
 */
export function firstLabel(host: string | null): string | null {
  if (host === null) return null;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === BACKSLASH) i++; // `\.`, `\\`, `\DDD`: the next character belongs to the label
    else if (c === DOT) return host.slice(0, i);
  }
  return host;
}

/** `host` without its trailing dot; an escaped dot (`\.`) at the end is part of the last label and stays. */
export function withoutTrailingDot(host: string): string {
  if (!host.endsWith('.')) return host;
  let slashes = 0;
  for (let i = host.length - 2; i >= 0 && host.charCodeAt(i) === BACKSLASH; i--) slashes++;
  return slashes % 2 === 0 ? host.slice(0, -1) : host;
}
