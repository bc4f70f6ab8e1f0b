import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Endpoint, Service } from '../cluster.js';

/** A discovery.k8s.io/v1 EndpointSlice as the fake API serves it. */
export interface FakeEndpointSlice {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: {
    name: string;
    generateName: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    generation: number;
    /** When the slice was made (RFC 3339, seconds). */
    creationTimestamp: string;
    labels: Record<string, string>;
    ownerReferences: { apiVersion: 'v1'; kind: 'Service'; name: string; uid: string; controller: true; blockOwnerDeletion: true }[];
  };
  addressType: 'IPv4' | 'IPv6';
  endpoints: {
    addresses: string[];
    conditions: { ready: boolean; serving: boolean; terminating: boolean };
    hostname?: string;
    targetRef: { kind: 'Pod'; name: string; namespace: string; uid: string };
    nodeName: string;
    zone?: string;
  }[];
  ports: { name: string; port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }[];
}

/** IP family of a slice. */
export type AddressType = 'IPv4' | 'IPv6';

/** The label that names a slice's Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** The label that names a slice's controller. */
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
// The alphabet of generated name suffixes in Kubernetes (no vowels, no confusable digits).
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

const hash = (text: string): Buffer => createHash('sha256').update(text).digest();

/** A stable UUID-shaped uid for a named thing. */
export const uidOf = (text: string): string => {
  const h = hash(`uid:${text}`).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

/** A 5-character generated-name suffix, stable for `text`. */
export const suffixOf = (text: string): string => [...hash(text).subarray(0, 5)].map((b) => SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length]).join('');

/** The slice address type an address belongs in. */
export const familyType = (address: string): AddressType => (isIP(address) === 6 ? 'IPv6' : 'IPv4');

/** Now as Kubernetes writes timestamps: RFC 3339 in UTC, whole seconds. */
export const timestamp = (ms = Date.now()): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** The labels the EndpointSlice controller puts on a Service's slices. */
export const sliceLabels = (service: string): Record<string, string> => ({
  [SERVICE_NAME_LABEL]: service,
  [MANAGED_BY_LABEL]: 'endpointslice-controller.k8s.io',
});

/** The endpoints of one slice, in member order, as the controller writes them. */
export function renderEndpoints(type: AddressType, namespace: string, members: readonly Endpoint[]): FakeEndpointSlice['endpoints'] {
  return members.map((e) => ({
    addresses: e.addresses.filter((a) => familyType(a) === type),
    // As the controller: ready includes publishNotReadyAddresses; serving is the pod's readiness.
    conditions: { ready: e.published, serving: e.serving, terminating: e.terminating },
    ...(e.hostname ? { hostname: e.hostname } : {}),
    targetRef: { kind: 'Pod' as const, name: e.pod.name, namespace, uid: e.pod.uid },
    nodeName: e.nodeName,
    ...(e.zone !== null ? { zone: e.zone } : {}),
  }));
}

/** A Service's ports as slice ports. */
export const renderPorts = (service: Service): FakeEndpointSlice['ports'] =>
  service.ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol }));
