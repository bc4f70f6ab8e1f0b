import type { FakeEndpointSlice } from './resources.js';

/**
 * kubectl asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io, ...` and prints the
 * server's columns; without a Table it can show only NAME and AGE. True when the client takes a
 * meta.k8s.io Table (and prefers it: it comes first).
 */
export function wantsTable(accept: string | undefined): boolean {
  const first = accept?.split(',')[0];
  if (!first) return false;
  const params = new Map(
    first
      .split(';')
      .slice(1)
      .map((p) => p.trim().split('=') as [string, string]),
  );
  return params.get('as') === 'Table' && params.get('g') === 'meta.k8s.io' && (params.get('v') === 'v1' || params.get('v') === 'v1beta1');
}

const COLUMNS = [
  { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
  { name: 'AddressType', type: 'string', format: '', description: 'addressType specifies the type of address carried by this EndpointSlice.', priority: 0 },
  { name: 'Ports', type: 'string', format: '', description: 'ports specifies the list of network ports exposed by each endpoint in this slice.', priority: 0 },
  { name: 'Endpoints', type: 'string', format: '', description: 'endpoints is a list of unique endpoints in this slice.', priority: 0 },
  { name: 'Age', type: 'string', format: '', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
];

/** Up to three items and "+ N more...", or `<unset>`: kubectl's listWithMoreString. */
function firstThree(items: string[]): string {
  if (items.length > 3) return `${items.slice(0, 3).join(',')} + ${items.length - 3} more...`;
  return items.length > 0 ? items.join(',') : '<unset>';
}

/** apimachinery's duration.HumanDuration, as the AGE column shows it. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function row(slice: FakeEndpointSlice, now: number): unknown {
  const { metadata } = slice;
  return {
    cells: [
      metadata.name,
      slice.addressType,
      firstThree(slice.ports.map((p) => String(p.port))),
      firstThree(slice.endpoints.flatMap((e) => e.addresses)),
      humanDuration(now - Date.parse(metadata.creationTimestamp)),
    ],
    // includeObject=Metadata, the default: the object's metadata only.
    object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata },
  };
}

/** A meta.k8s.io/v1 Table of EndpointSlices with kubectl's columns: NAME, ADDRESSTYPE, PORTS, ENDPOINTS, AGE. */
export function sliceTable(slices: FakeEndpointSlice[], listMetadata: Record<string, unknown>): string {
  const now = Date.now();
  return JSON.stringify({ kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMetadata, columnDefinitions: COLUMNS, rows: slices.map((s) => row(s, now)) });
}

/** A watch event line whose object becomes a one-row Table (bookmarks and errors pass as they are). */
export function tableEventLine(line: string): string {
  const event = JSON.parse(line) as { type: string; object: FakeEndpointSlice };
  if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED') return line;
  return `{"type":"${event.type}","object":${sliceTable([event.object], { resourceVersion: event.object.metadata.resourceVersion })}}\n`;
}
