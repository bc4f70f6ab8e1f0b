import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkName } from './name.js';

/** What a resolv.conf says, with glibc's defaults and limits applied. */
export interface ResolvConf {
  /** Up to 3 IP literals, in file order (default `['127.0.0.1']`). */
  nameservers: string[];
  /** Search domains without trailing dots (the last `search` or `domain` line wins; default none). */
  search: string[];
  /** `options ndots:N`, 0..15 (default 1). */
  ndots: number;
  /** `options timeout:N` in **milliseconds** (the file says seconds: 1..30; default 5000). */
  timeout: number;
  /** `options attempts:N`: rounds through the servers, 1..5 (default 2). */
  attempts: number;
  /** `options rotate`: spread queries over the servers (default false). */
  rotate: boolean;
  /** `options single-request`: A and AAAA of one name are asked one after the other (default false). */
  singleRequest: boolean;
  /** `options single-request-reopen`: as single-request, and a new socket after a timeout (default false). */
  singleRequestReopen: boolean;
  /** `options use-vc`: TCP for every query (default false). */
  useVc: boolean;
}

/** glibc's MAXNS. */
const MAX_NAMESERVERS = 3;
const MAX_NDOTS = 15;
const MAX_TIMEOUT_S = 30;
const MAX_ATTEMPTS = 5;

/** The settings glibc uses when resolv.conf is missing or says nothing. */
export function defaultResolvConf(): ResolvConf {
  return {
    nameservers: ['127.0.0.1'],
    search: [],
    ndots: 1,
    timeout: 5000,
    attempts: 2,
    rotate: false,
    singleRequest: false,
    singleRequestReopen: false,
    useVc: false,
  };
}

/** `N` of `name:N` clamped to [min, max], or undefined when not a number. */
function optionNumber(value: string, min: number, max: number): number | undefined {
  if (!/^\d+$/.test(value)) return undefined;
  return Math.min(max, Math.max(min, Number(value)));
}

/** Valid search domains without trailing dots; glibc skips the root and bad names. */
function searchDomains(words: string[]): string[] {
  const out: string[] = [];
  for (const word of words) {
    try {
      const bare = checkName(word);
      if (bare !== '') out.push(bare);
    } catch {
      // not a valid domain: glibc would fail to search it too
    }
  }
  return out;
}

/** Applies `options` words (from the file, or `RES_OPTIONS`) to `conf`; unknown ones are ignored. */
function applyOptions(conf: ResolvConf, words: string[]): void {
  for (const word of words) {
    const colon = word.indexOf(':');
    const name = colon === -1 ? word : word.slice(0, colon);
    const value = colon === -1 ? '' : word.slice(colon + 1);
    if (name === 'rotate') conf.rotate = true;
    else if (name === 'single-request') conf.singleRequest = true;
    else if (name === 'single-request-reopen') conf.singleRequestReopen = true;
    else if (name === 'use-vc') conf.useVc = true;
    else if (name === 'ndots') conf.ndots = optionNumber(value, 0, MAX_NDOTS) ?? conf.ndots;
    else if (name === 'attempts') conf.attempts = optionNumber(value, 1, MAX_ATTEMPTS) ?? conf.attempts;
    else if (name === 'timeout') {
      const seconds = optionNumber(value, 1, MAX_TIMEOUT_S);
      if (seconds !== undefined) conf.timeout = seconds * 1000;
    }
  }
}

/** Environment variables that change what resolv.conf says, as glibc reads them. */
export interface ResolvEnv {
  /** Whitespace-separated search domains that replace resolv.conf's `search`. */
  LOCALDOMAIN?: string | undefined;
  /** Options applied after resolv.conf's, in its syntax: `'ndots:2 timeout:1 use-vc'`. */
  RES_OPTIONS?: string | undefined;
}

/**
 * Applies `LOCALDOMAIN` and `RES_OPTIONS` to `conf` as glibc's res_init does: LOCALDOMAIN
 * replaces the search list, RES_OPTIONS' options override the file's. Returns `conf`.
 */
export function applyResolvEnv(conf: ResolvConf, env: ResolvEnv): ResolvConf {
  const local = typeof env.LOCALDOMAIN === 'string' ? env.LOCALDOMAIN.trim() : '';
  if (local !== '') conf.search = searchDomains(local.split(/[ \t]+/));
  const options = typeof env.RES_OPTIONS === 'string' ? env.RES_OPTIONS.trim() : '';
  if (options !== '') applyOptions(conf, options.split(/[ \t]+/));
  return conf;
}

/**
 * Parses resolv.conf text with glibc's semantics: `nameserver` (IP literals, at most 3),
 * `search` / `domain` (the last one wins), `options ndots:N timeout:N attempts:N rotate
 * single-request single-request-reopen use-vc` (others ignored), comments from `#` or `;`. Lines it does not understand are ignored.
 */
export function parseResolvConf(text: string): ResolvConf {
  const conf = defaultResolvConf();
  const nameservers: string[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    const comment = rawLine.search(/[#;]/);
    const line = comment === -1 ? rawLine : rawLine.slice(0, comment);
    const [keyword, ...words] = line.trim().split(/[ \t]+/);
    switch (keyword) {
      case 'nameserver': {
        const ip = words[0];
        if (ip !== undefined && isIP(ip) !== 0 && nameservers.length < MAX_NAMESERVERS) nameservers.push(ip);
        break;
      }
      case 'domain':
        conf.search = searchDomains(words.slice(0, 1));
        break;
      case 'search':
        conf.search = searchDomains(words);
        break;
      case 'options':
        applyOptions(conf, words);
        break;
      default:
        break;
    }
  }
  if (nameservers.length > 0) conf.nameservers = nameservers;
  return conf;
}

/**
 * Reads and parses a resolv.conf (synchronously: it is small and read once per client), then
 * applies `LOCALDOMAIN` and `RES_OPTIONS` from `env` (default `process.env`) as glibc does.
 * A missing or unreadable file gives glibc's defaults, as glibc does.
 */
export function readResolvConf(path = '/etc/resolv.conf', env: ResolvEnv = process.env): ResolvConf {
  let conf: ResolvConf;
  try {
    conf = parseResolvConf(readFileSync(path, 'utf8'));
  } catch {
    conf = defaultResolvConf();
  }
  return applyResolvEnv(conf, env);
}
