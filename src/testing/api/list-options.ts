import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import type { SliceMeta } from './store.js';
import { failure, invalidListOptions } from './status.js';
import type { FieldProblem, StatusReply } from './status.js';

/** Where a continue token resumes: after `start` (a storage key) in the list as of `rv`. */
export interface ContinueToken {
  rv: number;
  /** The key (`namespace/name`) the next page starts at or after. */
  start: string;
}

/** The query parameters of a list or watch, parsed and checked as the API server does. */
export interface ListOptions {
  watch: boolean;
  /** `resourceVersion` as given; null when absent or empty. */
  resourceVersion: string | null;
  resourceVersionMatch: string | null;
  /** Null when absent. */
  sendInitialEvents: boolean | null;
  allowWatchBookmarks: boolean;
  /** 0: no limit. */
  limit: number;
  continue: ContinueToken | null;
  /** Label and field selectors together; null when neither is given. */
  selector: ((meta: SliceMeta) => boolean) | null;
  timeoutSeconds: number | null;
}

/** Go's strconv.ParseBool, which the API server's parameter decoding uses. */
function parseBool(name: string, value: string | undefined): boolean | null | StatusReply {
  if (value === undefined) return null;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False', ''].includes(value)) return value === '' ? null : false;
  return failure(400, `${name}: strconv.ParseBool: parsing "${value}": invalid syntax`);
}

const isReply = (v: unknown): v is StatusReply => typeof v === 'object' && v !== null && 'code' in v && 'body' in v;

/**
 * A continue token as the API server writes it: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>"}`,
 * the start key (the last key sent and a NUL) relative to the list's namespace.
 */
export function encodeContinue(rv: number, start: string, namespace: string | null): string {
  const relative = namespace === null ? start : start.slice(namespace.length + 1);
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: relative })).toString('base64');
}

function decodeContinue(token: string, namespace: string | null): ContinueToken | StatusReply {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { v?: unknown; rv?: unknown; start?: unknown };
    if (parsed.v !== 'meta.k8s.io/v1') return failure(400, `continue key is not valid: unrecognized continue version ${String(parsed.v)}`);
    if (typeof parsed.rv !== 'number' || !Number.isInteger(parsed.rv) || parsed.rv < 1 || typeof parsed.start !== 'string' || parsed.start === '') {
      return failure(400, 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
    }
    return { rv: parsed.rv, start: namespace === null ? parsed.start : `${namespace}/${parsed.start}` };
  } catch {
    return failure(400, 'continue key is not valid: illegal base64 data or JSON');
  }
}

/** Parses a list or watch query; a StatusReply for what the API server would reject (400, or 422 for a bad combination). */
export function parseListOptions(query: Record<string, string>, namespace: string | null): ListOptions | StatusReply {
  const watch = parseBool('watch', query.watch);
  if (isReply(watch)) return watch;
  const sendInitialEvents = parseBool('sendInitialEvents', query.sendInitialEvents);
  if (isReply(sendInitialEvents)) return sendInitialEvents;
  const bookmarks = parseBool('allowWatchBookmarks', query.allowWatchBookmarks);
  if (isReply(bookmarks)) return bookmarks;
  const resourceVersion = query.resourceVersion || null;
  const match = query.resourceVersionMatch || null;
  const cont = query.continue || null;

  const problems: FieldProblem[] = [];
  if (watch) {
    if (sendInitialEvents !== null && match !== 'NotOlderThan') {
      problems.push({ field: 'resourceVersionMatch', type: 'Forbidden', detail: 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan' });
    }
    if (match !== null) {
      if (sendInitialEvents === null) {
        problems.push({ field: 'resourceVersionMatch', type: 'Forbidden', detail: 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided' });
      }
      if (match !== 'NotOlderThan') problems.push({ field: 'resourceVersionMatch', type: 'NotSupported', detail: match, supported: ['NotOlderThan'] });
      if (cont !== null) problems.push({ field: 'resourceVersionMatch', type: 'Forbidden', detail: 'resourceVersionMatch is forbidden when continue is provided' });
    }
  } else {
    if (match !== null) {
      if (resourceVersion === null) {
        problems.push({ field: 'resourceVersionMatch', type: 'Forbidden', detail: 'resourceVersionMatch is forbidden unless resourceVersion is provided' });
      }
      if (cont !== null) problems.push({ field: 'resourceVersionMatch', type: 'Forbidden', detail: 'resourceVersionMatch is forbidden when continue is provided' });
      if (match !== 'Exact' && match !== 'NotOlderThan') {
        problems.push({ field: 'resourceVersionMatch', type: 'NotSupported', detail: match, supported: ['Exact', 'NotOlderThan', ''] });
      }
      if (match === 'Exact' && resourceVersion === '0') {
        problems.push({ field: 'resourceVersionMatch', type: 'Forbidden', detail: 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"' });
      }
    }
    if (sendInitialEvents !== null) problems.push({ field: 'sendInitialEvents', type: 'Forbidden', detail: 'sendInitialEvents is forbidden for list' });
  }
  if (problems.length > 0) return invalidListOptions(problems);

  if (resourceVersion !== null && !/^\d+$/.test(resourceVersion)) return failure(400, `invalid resource version: ${resourceVersion}`);
  let limit = 0;
  if (query.limit !== undefined && query.limit !== '') {
    if (!/^-?\d+$/.test(query.limit)) return failure(400, `limit: strconv.ParseInt: parsing "${query.limit}": invalid syntax`);
    limit = Math.max(0, Number(query.limit));
  }
  let token: ContinueToken | null = null;
  if (cont !== null && !watch) {
    if (resourceVersion !== null && resourceVersion !== '0') return failure(400, 'specifying resource version is not allowed when using continue');
    const decoded = decodeContinue(cont, namespace);
    if (isReply(decoded)) return decoded;
    token = decoded;
  }
  let timeoutSeconds: number | null = null;
  if (query.timeoutSeconds !== undefined && query.timeoutSeconds !== '') {
    if (!/^\d+$/.test(query.timeoutSeconds)) return failure(400, `timeoutSeconds: strconv.ParseInt: parsing "${query.timeoutSeconds}": invalid syntax`);
    timeoutSeconds = Number(query.timeoutSeconds);
  }

  let selector: ListOptions['selector'] = null;
  try {
    const labels = query.labelSelector ? parseLabelSelector(query.labelSelector) : null;
    const fields = query.fieldSelector ? parseFieldSelector(query.fieldSelector) : null;
    if (labels || fields) selector = (meta) => (labels === null || labels(meta.labels)) && (fields === null || fields(meta));
  } catch (err) {
    if (err instanceof SelectorError) return failure(400, err.message);
    throw err;
  }
  return {
    watch: watch === true,
    resourceVersion,
    resourceVersionMatch: match,
    sendInitialEvents,
    allowWatchBookmarks: bookmarks === true,
    limit,
    continue: token,
    selector,
    timeoutSeconds,
  };
}
