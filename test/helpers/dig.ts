/**
 * Runs Debian's `dig` (bind9-dnsutils) against a server on loopback and parses its output.
 */
import { execFile } from 'node:child_process';

/** A record line of dig's output. */
export interface DigRecord {
  name: string;
  ttl: number | null;
  class: string;
  type: string;
  /** Everything after the type, as dig prints it (`0 33 80 web-0.nginx...`). */
  data: string;
}

/** One answer as dig prints it (the last one when dig retried over TCP). */
export interface DigResult {
  /** `NOERROR`, `NXDOMAIN`, ... */
  status: string;
  id: number;
  /** Header flags: `qr`, `aa`, `tc`, `rd`, ... */
  flags: string[];
  /** Counts from the header line. */
  counts: { query: number; answer: number; authority: number; additional: number };
  question: DigRecord[];
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** EDNS UDP size of the answer's OPT record, or null without one. */
  ednsUdp: number | null;
  /** `UDP` or `TCP`, from the SERVER line. */
  transport: string | null;
  /** dig said it got a truncated answer and asked again over TCP. */
  retriedOverTcp: boolean;
  /** The whole output. */
  output: string;
}

/** Error of a dig run that printed no answer (timeout, refused). */
export class DigError extends Error {
  readonly code = 'EDIG';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

/**
 * Runs `dig @host -p port ...args` (with `+tries=1 +time=3` unless given) and parses the
 * last answer it printed.
 */
export function dig(target: { host: string; port: number }, args: string[]): Promise<DigResult> {
  const full = [`@${target.host}`, '-p', String(target.port), '+tries=1', '+time=3', ...args];
  return new Promise((resolve, reject) => {
    execFile('dig', full, { maxBuffer: 64 * 1024 * 1024, timeout: 30_000 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      try {
        resolve(parseDig(output));
      } catch (parseErr) {
        reject(new DigError(`dig ${full.join(' ')} failed: ${err?.message ?? (parseErr as Error).message}`, output));
      }
    });
  });
}

const SECTIONS = ['QUESTION', 'ANSWER', 'AUTHORITY', 'ADDITIONAL'] as const;

/** Parses dig's default output (the last `->>HEADER<<-` block). */
export function parseDig(output: string): DigResult {
  const start = output.lastIndexOf(';; ->>HEADER<<-');
  if (start === -1) throw new Error('no answer in dig output');
  const lines = output.slice(start).split('\n');
  const header = /opcode: (\S+), status: (\S+), id: (\d+)/.exec(lines[0] ?? '');
  if (!header) throw new Error(`bad header line: ${lines[0]}`);
  const result: DigResult = {
    status: header[2]!,
    id: Number(header[3]),
    flags: [],
    counts: { query: 0, answer: 0, authority: 0, additional: 0 },
    question: [],
    answer: [],
    authority: [],
    additional: [],
    ednsUdp: null,
    transport: null,
    retriedOverTcp: output.includes('Truncated, retrying in TCP mode'),
    output,
  };
  let section: (typeof SECTIONS)[number] | null = null;
  for (const line of lines.slice(1)) {
    const flags = /^;; flags:([^;]*); QUERY: (\d+), ANSWER: (\d+), AUTHORITY: (\d+), ADDITIONAL: (\d+)/.exec(line);
    if (flags) {
      result.flags = flags[1]!.trim().split(/\s+/).filter(Boolean);
      result.counts = { query: Number(flags[2]), answer: Number(flags[3]), authority: Number(flags[4]), additional: Number(flags[5]) };
      continue;
    }
    const edns = /^; EDNS: version: \d+, flags:[^;]*; udp: (\d+)/.exec(line);
    if (edns) {
      result.ednsUdp = Number(edns[1]);
      continue;
    }
    const server = /^;; SERVER: .*\((UDP|TCP)\)/.exec(line);
    if (server) {
      result.transport = server[1]!;
      continue;
    }
    const heading = /^;; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
    if (heading) {
      section = heading[1] as (typeof SECTIONS)[number];
      continue;
    }
    if (line.trim() === '') {
      section = null;
      continue;
    }
    if (!section) continue;
    if (section === 'QUESTION') {
      const [name = '', klass = '', type = ''] = line.replace(/^;/, '').trim().split(/\s+/);
      result.question.push({ name, ttl: null, class: klass, type, data: '' });
      continue;
    }
    const [name = '', ttl = '', klass = '', type = '', ...data] = line.trim().split(/\s+/);
    const record = { name, ttl: Number(ttl), class: klass, type, data: data.join(' ') };
    if (section === 'ANSWER') result.answer.push(record);
    else if (section === 'AUTHORITY') result.authority.push(record);
    else result.additional.push(record);
  }
  return result;
}
