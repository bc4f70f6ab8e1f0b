import { DnsError, DnsErrorCode } from './errors.js';

/** Longest name in text form without the trailing dot (RFC 1035: 255 octets on the wire). */
export const MAX_NAME_LENGTH = 253;
/** Longest label (RFC 1035). */
export const MAX_LABEL_LENGTH = 63;

/**
 * Checks a DNS name in text form and returns it without its trailing dot.
 * Throws {@link DnsError} `EBADNAME` for an empty label, a label over 63 octets,
 * a name over 253 octets, or bytes that cannot go on the wire (non-ASCII, control characters).
 * The root name `.` returns ''.
 */
export function checkName(name: string, rrtype?: string): string {
  if (typeof name !== 'string') throw badName(name, rrtype, 'not a string');
  if (name === '.') return '';
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare.length === 0) throw badName(name, rrtype, 'empty name');
  if (bare.length > MAX_NAME_LENGTH) throw badName(name, rrtype, `longer than ${MAX_NAME_LENGTH} octets`);
  // eslint-disable-next-line no-control-regex
  if (/[^\x20-\x7e]/.test(bare)) throw badName(name, rrtype, 'only printable ASCII is allowed, space included (use punycode for IDNs)');
  // A space is a legal octet inside a label (RFC 2181), but at either end it is a paste slip.
  if (bare.startsWith(' ') || bare.endsWith(' ')) throw badName(name, rrtype, 'starts or ends with a space');
  let start = 0;
  for (;;) {
    const dot = bare.indexOf('.', start);
    const end = dot === -1 ? bare.length : dot;
    if (end === start) throw badName(name, rrtype, 'empty label');
    if (end - start > MAX_LABEL_LENGTH) throw badName(name, rrtype, `label longer than ${MAX_LABEL_LENGTH} octets`);
    if (dot === -1) break;
    start = dot + 1;
  }
  return bare;
}

/** The EBADNAME error of {@link checkName} (a function, not a closure made on every call). */
function badName(name: unknown, rrtype: string | undefined, why: string): DnsError {
  return new DnsError(DnsErrorCode.BADNAME, `invalid DNS name ${JSON.stringify(name)}: ${why}`, {
    hostname: name as string,
    rrtype,
  });
}

/**
 * A name as given (checked by {@link checkName}: printable ASCII, dots between labels) in the
 * form the decoder prints names read off the wire: a space as `\032`, a backslash as `\\`.
 * Answers' owner names are compared with this, so a label holding either still matches.
 */
export function presentationName(name: string): string {
  // The common case, a host name, has neither: no copy.
  if (name.indexOf(' ') < 0 && name.indexOf('\\') < 0) return name;
  return name.replace(/[ \\]/g, (c) => (c === ' ' ? '\\032' : '\\\\'));
}

/** Lower-case form used to compare names (DNS names compare case-insensitively, ASCII only). */
export function canonicalName(name: string): string {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  return bare.toLowerCase();
}

/** True when two names are the same name (case-insensitive, trailing dot ignored). */
export function sameName(a: string, b: string): boolean {
  return canonicalName(a) === canonicalName(b);
}

/** Number of dots in a name without its trailing dot: what resolv.conf's `ndots` counts. */
export function countDots(name: string): number {
  let n = 0;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) === 46) n++;
  return n;
}
