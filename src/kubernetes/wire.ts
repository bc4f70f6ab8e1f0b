/**
 * What the API server sends, read defensively: an EndpointSliceList page and watch events.
 * Nothing here trusts a field it has not checked.
 */
import { endpointSliceProblem } from './slice-check.js';
import type { EndpointSlice } from './endpoint-slices.js';
import { httpError, isStatus, KubernetesApiError, KubernetesApiErrorCode } from './errors.js';
import type { KubernetesStatus, RequestContext } from './errors.js';

/** One page of an EndpointSliceList, reduced to what the watch needs. */
export interface EndpointSliceList {
  /** Where a watch resumes from. */
  resourceVersion: string;
  /** The slices that could be read. */
  items: EndpointSlice[];
  /** One error for each item that could not be read (left out of `items`). */
  invalid: KubernetesApiError[];
  /** `metadata.continue`: the token of the next page, or null on the last. */
  continue: string | null;
}

/** The annotation of the bookmark that ends a watch-list's initial events. */
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

/** One event of an EndpointSlice watch (ERROR events reject the iteration instead). */
export type WatchEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; slice: EndpointSlice; resourceVersion: string }
  | { type: 'BOOKMARK'; resourceVersion: string; initialEventsEnd: boolean }
  /** A change event whose object cannot be read: skipped, its resourceVersion (when it has one) counted. */
  | { type: 'INVALID'; resourceVersion: string | null; error: KubernetesApiError };

/** A change event of a watch (not a bookmark). */
export type SliceEvent = Extract<WatchEvent, { type: 'ADDED' | 'MODIFIED' | 'DELETED' }>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An EBADRESP error about an answer of `ctx`'s request. */
export function badResponse(message: string, ctx: Pick<RequestContext, 'verb' | 'url'>, cause?: unknown): KubernetesApiError {
  return new KubernetesApiError(KubernetesApiErrorCode.BADRESP, `${message} (${ctx.verb} ${ctx.url})`, {
    url: ctx.url,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** A resourceVersion as the API gives it: a short non-empty string. */
function versionOf(value: unknown): string | null {
  const rv = isObject(value) && isObject(value.metadata) ? value.metadata.resourceVersion : undefined;
  return typeof rv === 'string' && rv !== '' && rv.length <= 1024 ? rv : null;
}

/**
 * Reads an EndpointSliceList page (already parsed JSON). Items that cannot be read are left
 * out, each with its error. `plain`: the text was printable ASCII without escapes (`isPlainJson`).
 */
export function parseList(value: unknown, ctx: RequestContext, plain = false): EndpointSliceList {
  if (!isObject(value) || !Array.isArray(value.items)) throw badResponse('the answer is not an EndpointSliceList (no items)', ctx);
  const rv = versionOf(value);
  if (rv === null) throw badResponse('the EndpointSliceList has no metadata.resourceVersion', ctx);
  const token = isObject(value.metadata) ? value.metadata.continue : undefined;
  if (token !== undefined && token !== null && typeof token !== 'string') throw badResponse('the EndpointSliceList has a metadata.continue that is not a string', ctx);
  const items: EndpointSlice[] = [];
  const invalid: KubernetesApiError[] = [];
  for (const item of value.items as unknown[]) {
    const problem = endpointSliceProblem(item, plain);
    if (problem) invalid.push(badResponse(`the EndpointSliceList holds a bad EndpointSlice: ${problem}`, ctx));
    else items.push(item as EndpointSlice);
  }
  return { resourceVersion: rv, items, invalid, continue: typeof token === 'string' && token !== '' ? token : null };
}

/** Reads one watch event; an ERROR event (or one with no type) throws, a change event with a bad object is INVALID. */
export function watchEvent(value: unknown, ctx: RequestContext): WatchEvent {
  if (!isObject(value) || typeof value.type !== 'string') throw badResponse('a watch event has no type', ctx);
  const object = value.object;
  const rv = versionOf(object);
  switch (value.type) {
    case 'ADDED':
    case 'MODIFIED':
    case 'DELETED': {
      const type = value.type;
      const skip = (why: string): WatchEvent => ({ type: 'INVALID', resourceVersion: rv, error: badResponse(`a ${type} watch event was skipped: ${why}`, ctx) });
      // A deletion needs the name only; an addition or change, every field that is read.
      const problem = type === 'DELETED' ? deletedProblem(object) : endpointSliceProblem(object);
      if (problem) return skip(`it holds a bad EndpointSlice: ${problem}`);
      if (rv === null) return skip('it has no resourceVersion');
      return { type, slice: object as EndpointSlice, resourceVersion: rv };
    }
    case 'BOOKMARK': {
      if (rv === null) throw badResponse('a BOOKMARK watch event has no resourceVersion', ctx);
      const metadata = (object as { metadata: Record<string, unknown> }).metadata;
      const annotations = metadata.annotations;
      return { type: 'BOOKMARK', resourceVersion: rv, initialEventsEnd: isObject(annotations) && annotations[INITIAL_EVENTS_END] === 'true' };
    }
    case 'ERROR': {
      const status = cleanStatus(object);
      throw httpError(status?.code ?? 500, status, status ? '' : JSON.stringify(object ?? null).slice(0, 200), ctx);
    }
    default:
      throw badResponse(`unknown watch event type ${JSON.stringify(value.type.slice(0, 40))}`, ctx);
  }
}

function deletedProblem(value: unknown): string | null {
  const name = isObject(value) && isObject(value.metadata) ? value.metadata.name : undefined;
  return typeof name === 'string' && name !== '' && name.length <= 253 ? null : 'no metadata.name';
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v.slice(0, 1024) : undefined);

/**
 * The fields of a Status object that error messages use, each of the right type (a message
 * that is a nested array would otherwise be stringified, deeply, into the error).
 */
export function cleanStatus(value: unknown): KubernetesStatus | null {
  if (!isStatus(value)) return null;
  const raw = value as Record<string, unknown>;
  const code = raw.code;
  const details = isObject(raw.details) ? raw.details : {};
  const status: KubernetesStatus = { kind: 'Status' };
  const set = <K extends keyof KubernetesStatus>(k: K, v: KubernetesStatus[K] | undefined): void => {
    if (v !== undefined) status[k] = v;
  };
  set('status', text(raw.status));
  set('message', text(raw.message));
  set('reason', text(raw.reason));
  set('code', typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 599 ? code : undefined);
  const d: NonNullable<KubernetesStatus['details']> = {};
  for (const k of ['name', 'group', 'kind'] as const) {
    const v = text(details[k]);
    if (v !== undefined) d[k] = v;
  }
  status.details = d;
  return status;
}
