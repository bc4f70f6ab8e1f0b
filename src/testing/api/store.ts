import type { Endpoint, Pod, Service, TestCluster } from '../cluster.js';
import { familyType, renderEndpoints, renderPorts, sliceLabels, suffixOf, timestamp, uidOf } from './resources.js';
import type { AddressType, FakeEndpointSlice } from './resources.js';

/** What selectors and watches look at: a slice's identity. */
export interface SliceMeta {
  /** `namespace/name`: the order of lists (the API server's storage key order). */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A slice as it was at one resourceVersion: what lists and snapshots hold. */
export interface SliceVersion extends SliceMeta {
  /** The serialized object. */
  readonly json: string;
}

/** One change, kept for watches that resume. */
export interface HistoryEvent extends SliceMeta {
  rv: number;
  /** The NDJSON line of the watch event. */
  line: string;
}

interface SliceState extends SliceMeta {
  addressType: AddressType;
  uid: string;
  creationTimestamp: string;
  /** Pod names, in the order they joined. */
  members: string[];
  /** The pod object each member was last rendered from (pods are immutable: a change is a new object). */
  renderedPods: Map<string, Pod>;
  renderedService: Service | null;
  /** Membership changed since the last render. */
  dirty: boolean;
  generation: number;
  resourceVersion: number;
  /** Content without versions: what "changed" compares. */
  content: string;
  object: FakeEndpointSlice;
  json: string;
}

interface ServiceState {
  namespace: string;
  name: string;
  uid: string;
  slices: SliceState[];
  /** pod name -> slice, per address type. */
  placement: Map<AddressType, Map<string, SliceState>>;
  nextSlice: number;
}

const FIRST_RESOURCE_VERSION = 1000;

// Address families of a pod's addresses (an immutable array per pod version), worked out once.
const familyMasks = new WeakMap<readonly string[], number>();
function hasType(addresses: readonly string[], type: AddressType): boolean {
  let mask = familyMasks.get(addresses);
  if (mask === undefined) {
    mask = 0;
    for (const a of addresses) mask |= familyType(a) === 'IPv4' ? 1 : 2;
    familyMasks.set(addresses, mask);
  }
  return (mask & (type === 'IPv4' ? 1 : 2)) !== 0;
}
/** Paginated-list snapshots kept for continue tokens. */
const SNAPSHOT_LIMIT = 32;

/**
 * The EndpointSlices of a cluster, as the EndpointSlice controller keeps them: per Service and
 * address type, slices of at most `max` endpoints; a pod stays in its slice, a new pod goes to
 * the first slice with room, an emptied slice is deleted (a Service with no endpoints keeps one
 * empty slice). Every change gets the next global resourceVersion and a watch event. Only the
 * slices whose members, member pods or Service changed are rendered again.
 */
export class SliceStore {
  readonly #cluster: TestCluster;
  readonly #max: number;
  readonly #historyLimit: number;
  readonly #services = new Map<string, ServiceState>();
  readonly #emit: (event: HistoryEvent) => void;
  readonly #snapshots = new Map<number, SliceVersion[]>();
  #ordered: SliceState[] | null = null;
  #rv = FIRST_RESOURCE_VERSION;
  #compacted = FIRST_RESOURCE_VERSION;
  #history: HistoryEvent[] = [];
  #dirty = true;

  constructor(cluster: TestCluster, max: number, historyLimit: number, emit: (event: HistoryEvent) => void) {
    this.#cluster = cluster;
    this.#max = max;
    this.#historyLimit = historyLimit;
    this.#emit = emit;
  }

  /** The newest resourceVersion. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** Oldest resourceVersion a watch or a continue token may resume from. */
  get compactedVersion(): number {
    return this.#compacted;
  }

  /** The cluster changed: the next {@link sync} looks. */
  markDirty(): void {
    this.#dirty = true;
  }

  /** Drops the history and the list snapshots older than now. */
  compact(): void {
    this.sync();
    this.#history = [];
    this.#compacted = this.#rv;
    for (const rv of this.#snapshots.keys()) if (rv < this.#compacted) this.#snapshots.delete(rv);
  }

  /** History events after `rv` that `filter` accepts. */
  since(rv: number, filter: (meta: SliceMeta) => boolean): HistoryEvent[] {
    return this.#history.filter((e) => e.rv > rv && filter(e));
  }

  /** Current slices in key order (namespace, then name), optionally of one namespace / Service. */
  slices(namespace?: string, service?: string): FakeEndpointSlice[] {
    this.sync();
    return this.#order()
      .filter((s) => (namespace === undefined || s.namespace === namespace) && (service === undefined || s.labels['kubernetes.io/service-name'] === service))
      .map((s) => s.object);
  }

  /** Every slice as of now, in key order; kept for continue tokens at this version. */
  snapshot(): SliceVersion[] {
    this.sync();
    let snap = this.#snapshots.get(this.#rv);
    if (!snap) {
      snap = this.#order().map((s) => ({ key: s.key, namespace: s.namespace, name: s.name, labels: s.labels, json: s.json }));
      this.#snapshots.set(this.#rv, snap);
      if (this.#snapshots.size > SNAPSHOT_LIMIT) this.#snapshots.delete(this.#snapshots.keys().next().value!);
    }
    return snap;
  }

  /** The slices as of `rv` if that version can still be served consistently, else null (expired). */
  snapshotAt(rv: number): SliceVersion[] | null {
    this.sync();
    if (rv < this.#compacted) return null;
    if (rv === this.#rv) return this.snapshot();
    return this.#snapshots.get(rv) ?? null;
  }

  /** Brings the slices up to the cluster: emits ADDED/MODIFIED/DELETED for what changed. */
  sync(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    const seen = new Set<string>();
    for (const service of this.#cluster.services) {
      const id = `${service.namespace}/${service.name}`;
      seen.add(id);
      let state = this.#services.get(id);
      if (!state) {
        state = { namespace: service.namespace, name: service.name, uid: uidOf(`service/${id}`), slices: [], placement: new Map(), nextSlice: 0 };
        this.#services.set(id, state);
      }
      this.#syncService(state, service, this.#cluster.endpoints(service.name, service.namespace));
    }
    for (const [id, state] of this.#services) {
      if (seen.has(id)) continue;
      for (const slice of state.slices) this.#event('DELETED', slice);
      this.#services.delete(id);
      this.#ordered = null;
    }
  }

  #order(): SliceState[] {
    if (!this.#ordered) {
      this.#ordered = [...this.#services.values()].flatMap((s) => s.slices.filter((x) => x.resourceVersion > 0));
      this.#ordered.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    return this.#ordered;
  }

  #syncService(state: ServiceState, service: Service, endpoints: Endpoint[]): void {
    const byPod = new Map<string, Endpoint>(endpoints.map((e) => [e.pod.name, e]));
    for (const type of ['IPv4', 'IPv6'] as const) {
      let placement = state.placement.get(type);
      if (!placement) {
        placement = new Map();
        state.placement.set(type, placement);
      }
      // Pods gone (or without an address of this type now) leave their slice.
      const left = new Set<SliceState>();
      for (const [pod, slice] of placement) {
        const e = byPod.get(pod);
        if (!e || !hasType(e.addresses, type)) {
          placement.delete(pod);
          slice.renderedPods.delete(pod);
          left.add(slice);
        }
      }
      for (const slice of left) {
        slice.members = slice.members.filter((m) => placement.get(m) === slice);
        slice.dirty = true;
      }
      // New pods join the first slice with room, else a new one; a changed pod makes its slice stale.
      let room = 0;
      for (const e of endpoints) {
        const home = placement.get(e.pod.name);
        if (home) {
          if (home.renderedPods.get(e.pod.name) !== e.pod) home.dirty = true;
          continue;
        }
        if (!hasType(e.addresses, type)) continue;
        // Slices only fill up in this loop: one skipped stays full, so the search goes on from there.
        while (room < state.slices.length && (state.slices[room]!.addressType !== type || state.slices[room]!.members.length >= this.#max)) room++;
        let slice = state.slices[room];
        if (!slice) {
          slice = this.#newSlice(state, type);
          state.slices.push(slice);
        }
        slice.members.push(e.pod.name);
        slice.dirty = true;
        placement.set(e.pod.name, slice);
      }
    }
    // Emptied slices go, but a Service always keeps one slice (the controller's placeholder).
    const kept = state.slices.filter((s) => s.members.length > 0);
    if (kept.length === 0) {
      const placeholder = state.slices.find((s) => s.resourceVersion > 0 && s.addressType === 'IPv4') ?? state.slices.find((s) => s.resourceVersion > 0);
      kept.push(placeholder ?? this.#newSlice(state, 'IPv4'));
    }
    const keep = new Set(kept);
    for (const slice of state.slices) {
      if (!keep.has(slice) && slice.resourceVersion > 0) {
        this.#event('DELETED', slice);
        this.#ordered = null;
      }
    }
    state.slices = kept;
    // Only new slices, slices whose members or member pods changed, or all when the Service did.
    for (const slice of kept) {
      if (slice.dirty || slice.resourceVersion === 0 || slice.renderedService !== service) this.#render(state, service, slice, byPod);
    }
  }

  #newSlice(state: ServiceState, addressType: AddressType): SliceState {
    const name = `${state.name}-${suffixOf(`${state.namespace}/${state.name}/${state.nextSlice++}`)}`;
    return {
      key: `${state.namespace}/${name}`,
      namespace: state.namespace,
      name,
      labels: sliceLabels(state.name),
      addressType,
      uid: uidOf(`slice/${state.namespace}/${name}`),
      creationTimestamp: '',
      members: [],
      renderedPods: new Map(),
      renderedService: null,
      dirty: true,
      generation: 0,
      resourceVersion: 0,
      content: '',
      object: null!,
      json: '',
    };
  }

  /** Rebuilds a slice's content; a new or changed slice gets a version and an event. */
  #render(state: ServiceState, service: Service, slice: SliceState, byPod: Map<string, Endpoint>): void {
    const members = slice.members.map((pod) => byPod.get(pod)!);
    slice.dirty = false;
    slice.renderedService = service;
    slice.renderedPods = new Map(members.map((e) => [e.pod.name, e.pod]));
    const endpoints = renderEndpoints(slice.addressType, state.namespace, members);
    const ports = renderPorts(service);
    const content = JSON.stringify([slice.addressType, endpoints, ports]);
    if (content === slice.content) return;
    const added = slice.resourceVersion === 0;
    if (added) {
      slice.creationTimestamp = timestamp();
      this.#ordered = null;
    }
    slice.content = content;
    slice.generation++;
    slice.object = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: slice.name,
        generateName: `${state.name}-`,
        namespace: state.namespace,
        uid: slice.uid,
        resourceVersion: '',
        generation: slice.generation,
        creationTimestamp: slice.creationTimestamp,
        labels: { ...slice.labels },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: state.name, uid: state.uid, controller: true, blockOwnerDeletion: true }],
      },
      addressType: slice.addressType,
      endpoints,
      ports,
    };
    this.#event(added ? 'ADDED' : 'MODIFIED', slice);
  }

  #event(type: 'ADDED' | 'MODIFIED' | 'DELETED', slice: SliceState): void {
    const rv = ++this.#rv;
    slice.resourceVersion = rv;
    slice.object.metadata.resourceVersion = String(rv);
    slice.json = JSON.stringify(slice.object);
    const event: HistoryEvent = { rv, key: slice.key, namespace: slice.namespace, name: slice.name, labels: slice.labels, line: `{"type":"${type}","object":${slice.json}}\n` };
    if (type === 'DELETED') slice.members = [];
    this.#history.push(event);
    if (this.#history.length > this.#historyLimit) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historyLimit);
      this.#compacted = dropped.at(-1)!.rv;
      for (const v of this.#snapshots.keys()) if (v < this.#compacted) this.#snapshots.delete(v);
    }
    this.#emit(event);
  }
}
