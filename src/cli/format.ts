/**
 * How the CLI and the examples show peers: an aligned table, `+`/`-` change lines,
 * JSON and NDJSON. Pure functions: the caller decides colors ({@link useColor}).
 */
import type { Peer, PeerChange } from '../peer/index.js';

/** The columns of the peer table, in order. */
export const PEER_COLUMNS = ['NAME', 'ORDINAL', 'ADDRESS', 'PORT', 'HOST', 'TTL', 'SELF'] as const;

/** What a formatter needs to know about its output. */
export interface FormatOptions {
  /** Add ANSI colors (default false). Decide with {@link useColor}. */
  color?: boolean;
}

/** The streams {@link useColor} looks at: a Node stream, or anything with the same flags. */
export interface ColorTarget {
  isTTY?: boolean;
  hasColors?: () => boolean;
}

/**
 * True when output to `stream` may be colored: it is a terminal, `NO_COLOR` is unset
 * (or empty, as no-color.org says), and the terminal has colors (not `TERM=dumb`).
 */
export function useColor(stream: ColorTarget, env: NodeJS.ProcessEnv = process.env): boolean {
  if (stream.isTTY !== true) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return typeof stream.hasColors === 'function' ? stream.hasColors() : true;
}

// SGR pairs: start and the code that ends only that attribute, so styles nest.
const STYLES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;

/** A style name {@link paint} knows. */
export type Style = keyof typeof STYLES;

/** `text` in `style` when `color` is on, else unchanged. */
export function paint(text: string, style: Style, color: boolean | undefined): string {
  if (!color || text === '') return text;
  const [open, close] = STYLES[style];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

// C0 and C1 controls, DEL, line/paragraph separators and bidi overrides: what could move the
// cursor, end a line, recolor or reorder a terminal's text.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Server text (names from DNS or an EndpointSlice, error bodies) made safe for a terminal:
 * every control character becomes a visible escape (`\x1b`, `\n`, `\u202e`), so a hostname
 * cannot forge table rows or recolor the screen.
 */
export function escapeText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/** `10.1.2.3:80`, `[fd00::3]:80`, or the bare address when there is no port. */
export function formatAddress(peer: Pick<Peer, 'address' | 'family' | 'port'>): string {
  const address = escapeText(peer.address);
  const host = peer.family === 6 ? `[${address}]` : address;
  return peer.port === null ? address : `${host}:${peer.port}`;
}

/** The cells of one table row, as text, in {@link PEER_COLUMNS} order. */
export function peerRow(peer: Peer): string[] {
  return [
    peer.name === null ? '-' : escapeText(peer.name),
    peer.ordinal === null ? '-' : String(peer.ordinal),
    escapeText(peer.address),
    peer.port === null ? '-' : String(peer.port),
    peer.host === null ? '-' : escapeText(peer.host),
    String(peer.ttl),
    peer.self ? 'yes' : '-',
  ];
}

/**
 * The peer table: a header and one aligned row per peer, each line ending in `\n`.
 * Columns are padded to their widest cell; the last column is not padded.
 *
 * ```
 * NAME   ORDINAL  ADDRESS    PORT  HOST                                   TTL  SELF
 * web-0  0        127.1.0.1  80    web-0.nginx.default.svc.cluster.local  5    -
 * ```
 */
export function formatPeerTable(peers: readonly Peer[], options: FormatOptions = {}): string {
  const rows = peers.map(peerRow);
  const header: string[] = [...PEER_COLUMNS];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[], style: (cell: string, i: number) => string): string =>
    cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i]!);
        // Pad first, then paint: escape codes must not count toward the width.
        return style(padded, i);
      })
      .join('  ')
      .trimEnd() + '\n';
  const out = [line(header, (cell) => paint(cell, 'bold', options.color))];
  peers.forEach((peer, n) => {
    out.push(line(rows[n]!, (cell, i) => (i === 0 && peer.self ? paint(cell, 'cyan', options.color) : i === 4 ? paint(cell, 'dim', options.color) : cell)));
  });
  return out.join('');
}

/**
 * One change line: `+ web-3 127.1.0.4:80`, `- web-1 127.1.0.2:80`, or for an update
 * `~ web-2 127.1.0.3:80 terminating` (the address when a peer has no name).
 */
export function formatChangeLine(peer: Peer, kind: 'added' | 'removed' | 'updated', options: FormatOptions = {}): string {
  const sign = kind === 'added' ? '+' : kind === 'removed' ? '-' : '~';
  const state = kind === 'updated' ? ` ${peerState(peer)}` : '';
  const text = `${sign} ${escapeText(peer.name ?? peer.address)} ${formatAddress(peer)}${state}`;
  return paint(text, kind === 'added' ? 'green' : kind === 'removed' ? 'red' : 'yellow', options.color) + '\n';
}

/** A peer's condition in one word: `terminating`, `not-ready`, or `ready`. */
export function peerState(peer: Peer): string {
  return peer.terminating ? 'terminating' : peer.ready ? 'ready' : 'not-ready';
}

/** The lines of a change: every removed peer (`-`), then every added one (`+`), then every updated one (`~`). */
export function formatChange(change: PeerChange, options: FormatOptions = {}): string {
  return (
    change.removed.map((p) => formatChangeLine(p, 'removed', options)).join('') +
    change.added.map((p) => formatChangeLine(p, 'added', options)).join('') +
    change.updated.map((p) => formatChangeLine(p, 'updated', options)).join('')
  );
}

/** `3 peers: web-0, web-1, web-2` (or `no peers`), for narration and summaries. */
export function describePeers(peers: readonly Peer[]): string {
  if (peers.length === 0) return 'no peers';
  const names = peers.map((p) => (p.name === null ? formatAddress(p) : escapeText(p.name)));
  return `${peers.length} ${peers.length === 1 ? 'peer' : 'peers'}: ${names.join(', ')}`;
}

/** The peers as a JSON array (indented two spaces), with a final newline: `resolve --json`. */
export function formatPeersJson(peers: readonly Peer[]): string {
  return `${JSON.stringify(peers, null, 2)}\n`;
}

/** One change as one line of NDJSON: `watch --json`. */
export function formatChangeJson(change: PeerChange): string {
  return `${JSON.stringify({ peers: change.peers, added: change.added, removed: change.removed, updated: change.updated })}\n`;
}

/**
 * Whether a command colors its stdout: `io.color` when the embedder set it, else
 * {@link useColor} of process.stdout (where the bin's output goes).
 */
export function stdoutColor(io: { color?: boolean }): boolean {
  return io.color ?? useColor(process.stdout);
}
