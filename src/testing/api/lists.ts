import { encodeContinue } from './list-options.js';
import type { ListOptions } from './list-options.js';
import type { SliceMeta, SliceStore, SliceVersion } from './store.js';
import { failure } from './status.js';
import type { StatusReply } from './status.js';

/** A list body ready to send, or the Status the API server would answer. */
export type ListResult = { code: 200; items: SliceVersion[]; metadata: Record<string, unknown>; text: string } | StatusReply;

const CONTINUE_EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, ' +
  'or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an ' +
  'inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

/** Whether a slice is in the list's scope (namespace, selectors). */
export const scopeFilter =
  (namespace: string | null, selector: ListOptions['selector']) =>
  (meta: SliceMeta): boolean =>
    (namespace === null || meta.namespace === namespace) && (selector === null || selector(meta));

/** The slices as the list should see them: now, at an exact version, or at a continue token's version. */
function source(store: SliceStore, options: ListOptions, namespace: string | null): { rv: number; slices: SliceVersion[]; start: string } | StatusReply {
  const current = store.resourceVersion;
  if (options.continue) {
    const { rv, start } = options.continue;
    const slices = rv <= current ? store.snapshotAt(rv) : null;
    if (!slices) return failure(410, CONTINUE_EXPIRED, undefined, { continue: encodeContinue(current, start, namespace) });
    return { rv, slices, start };
  }
  const asked = options.resourceVersion;
  if (asked !== null && asked !== '0') {
    const n = Number(asked);
    if (n > current) return failure(504, `Too large resource version: ${n}, current: ${current}`, { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 });
    if (options.resourceVersionMatch === 'Exact') {
      const slices = store.snapshotAt(n);
      if (!slices) return failure(410, `too old resource version: ${n} (${store.compactedVersion})`);
      return { rv: n, slices, start: '' };
    }
  }
  return { rv: current, slices: store.snapshot(), start: '' };
}

/** An EndpointSliceList: key order, `limit`/`continue` pages over one consistent snapshot, `remainingItemCount` without selectors. */
export function listSlices(store: SliceStore, options: ListOptions, namespace: string | null): ListResult {
  const from = source(store, options, namespace);
  if ('code' in from) return from;
  const inScope = scopeFilter(namespace, options.selector);
  const matching = from.slices.filter((s) => s.key >= from.start && inScope(s));
  let items = matching;
  const metadata: Record<string, unknown> = { resourceVersion: String(from.rv) };
  if (options.limit > 0 && matching.length > options.limit) {
    items = matching.slice(0, options.limit);
    metadata.continue = encodeContinue(from.rv, `${items.at(-1)!.key}\u0000`, namespace);
    if (options.selector === null) metadata.remainingItemCount = matching.length - items.length;
  }
  const text = `{"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1","metadata":${JSON.stringify(metadata)},"items":[${items.map((s) => s.json).join(',')}]}`;
  return { code: 200, items, metadata, text };
}

/** One EndpointSlice by name, or the API server's 404. */
export function getSlice(store: SliceStore, namespace: string, name: string): ListResult {
  const key = `${namespace}/${name}`;
  const slice = store.snapshot().find((s) => s.key === key);
  if (!slice) return failure(404, `endpointslices.discovery.k8s.io "${name}" not found`, { name, group: 'discovery.k8s.io', kind: 'endpointslices' });
  return { code: 200, items: [slice], metadata: {}, text: slice.json };
}
