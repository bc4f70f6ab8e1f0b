/**
 * Checks of an EndpointSlice as it comes off the wire: every field this package reads has the
 * type and range the API gives it, so that nothing later (a string method on a number, a
 * template literal over a nested array) can throw on what a server sent.
 */
import { DNS_LABEL, DNS_SUBDOMAIN } from './names.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Longest free-form string read (zone, node, pod, uid, port name, protocol): far more than the API allows. */
const MAX_TEXT = 1024;

/** `"text"` of a short, printable value, for a message. */
function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : typeof value === 'number' ? String(value) : typeof value;
}

// Printable text of a sane length: control characters would reach logs and terminals raw.
const PRINTABLE = /^[^\u0000-\u001f\u007f-\u009f]*$/;
const ASCII = /^[ -~]*$/;

/**
 * Why an optional string field is wrong ("is 5, not a string"), or null. Messages are built
 * only on failure. `plain`: the text it came from is known to hold printable ASCII only.
 */
function textProblem(value: unknown, plain = false): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return `is ${show(value)}, not a string`;
  if (value.length > MAX_TEXT) return `is longer than ${MAX_TEXT} characters`;
  // Plain ASCII first: one quick test for what clusters send.
  if (!plain && !ASCII.test(value) && !PRINTABLE.test(value)) return `${show(value)} holds control characters`;
  return null;
}

/** The first problem among `fields` of `object`, as "<list>[<i>]<sub>.<field> <problem>" (built only on failure). */
function fieldsProblem(object: Record<string, unknown>, fields: readonly string[], plain: boolean, list: string, i: number, sub = ''): string | null {
  for (const f of fields) {
    const problem = textProblem(object[f], plain);
    if (problem) return `${list}[${i}]${sub}.${f} ${problem}`;
  }
  return null;
}

const CONDITIONS = ['ready', 'serving', 'terminating'] as const;
const ENDPOINT_TEXT = ['zone', 'nodeName'] as const;
const REF_TEXT = ['kind', 'name', 'namespace', 'uid'] as const;
const PORT_TEXT = ['name', 'protocol', 'appProtocol'] as const;

function endpointProblem(endpoint: unknown, i: number, plain: boolean): string | null {
  if (!isObject(endpoint)) return `endpoints[${i}] is ${show(endpoint)}, not an object`;
  const addresses = endpoint.addresses;
  if (!Array.isArray(addresses)) return `endpoints[${i}] has no addresses list`;
  for (let a = 0; a < addresses.length; a++) {
    const address: unknown = addresses[a];
    if (typeof address !== 'string' || address.length > 64) return `endpoints[${i}].addresses[${a}] is ${show(address)}, not an address`;
  }
  const hostname = endpoint.hostname;
  if (hostname !== undefined && hostname !== null && (typeof hostname !== 'string' || !DNS_LABEL.test(hostname))) {
    return `endpoints[${i}].hostname is ${show(hostname)}, not a DNS label`;
  }
  const conditions = endpoint.conditions;
  if (conditions !== undefined && conditions !== null) {
    if (!isObject(conditions)) return `endpoints[${i}].conditions is ${show(conditions)}, not an object`;
    for (const f of CONDITIONS) {
      const v = conditions[f];
      if (v !== undefined && v !== null && typeof v !== 'boolean') return `endpoints[${i}].conditions.${f} is ${show(v)}, not a boolean`;
    }
  }
  const problem = fieldsProblem(endpoint, ENDPOINT_TEXT, plain, 'endpoints', i);
  if (problem) return problem;
  const ref = endpoint.targetRef;
  if (ref === undefined || ref === null) return null;
  if (!isObject(ref)) return `endpoints[${i}].targetRef is ${show(ref)}, not an object`;
  return fieldsProblem(ref, REF_TEXT, plain, 'endpoints', i, '.targetRef');
}

/** The fields of an endpoint as they come off the wire: anything. */
interface RawEndpoint {
  addresses?: unknown;
  hostname?: unknown;
  conditions?: unknown;
  zone?: unknown;
  nodeName?: unknown;
  targetRef?: unknown;
}

const isFlag = (v: unknown): boolean => v === undefined || v === null || typeof v === 'boolean';
const isText = (v: unknown, plain: boolean): boolean => v === undefined || v === null || (typeof v === 'string' && textProblem(v, plain) === null);

/**
 * True when {@link endpointProblem} would find nothing: the same checks, with each field read
 * by name (one shape, fast property loads) and no message built. Run once per endpoint.
 */
function endpointFine(value: unknown, plain: boolean): boolean {
  if (!isObject(value)) return false;
  const endpoint = value as RawEndpoint;
  const addresses = endpoint.addresses;
  if (!Array.isArray(addresses)) return false;
  for (let a = 0; a < addresses.length; a++) {
    const address: unknown = addresses[a];
    if (typeof address !== 'string' || address.length > 64) return false;
  }
  const hostname = endpoint.hostname;
  if (hostname !== undefined && hostname !== null && (typeof hostname !== 'string' || !DNS_LABEL.test(hostname))) return false;
  const conditions = endpoint.conditions as { ready?: unknown; serving?: unknown; terminating?: unknown } | null | undefined;
  if (conditions !== undefined && conditions !== null) {
    if (!isObject(conditions) || !isFlag(conditions.ready) || !isFlag(conditions.serving) || !isFlag(conditions.terminating)) return false;
  }
  if (!isText(endpoint.zone, plain) || !isText(endpoint.nodeName, plain)) return false;
  const ref = endpoint.targetRef as { kind?: unknown; name?: unknown; namespace?: unknown; uid?: unknown } | null | undefined;
  if (ref === undefined || ref === null) return true;
  return isObject(ref) && isText(ref.kind, plain) && isText(ref.name, plain) && isText(ref.namespace, plain) && isText(ref.uid, plain);
}

function portProblem(port: unknown, i: number): string | null {
  if (!isObject(port)) return `ports[${i}] is ${show(port)}, not an object`;
  const problem = fieldsProblem(port, PORT_TEXT, false, 'ports', i);
  if (problem) return problem;
  const n = port.port;
  if (n !== undefined && n !== null && !(typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535)) {
    return `ports[${i}].port is ${show(n)}, not a port number (1-65535)`;
  }
  return null;
}

/**
 * Why `value` is not an EndpointSlice this package can read (null when it is). Checks every
 * field read: metadata.name (a DNS subdomain) and resourceVersion, addressType; each
 * endpoint's addresses (strings), hostname (a DNS label), conditions (booleans), zone and
 * nodeName (strings), targetRef's fields (strings); each port's name and protocol (strings)
 * and number (an integer 1-65535). Null or missing optional fields are fine. Work is linear
 * in the object's size, with no recursion. `plain`: the JSON text the slice was parsed from
 * holds printable ASCII only and no escapes (see {@link isPlainJson}), so no string in it can
 * hold a control character and that test is skipped.
 */
export function endpointSliceProblem(value: unknown, plain = false): string | null {
  if (!isObject(value)) return 'not an object';
  const metadata = value.metadata;
  if (!isObject(metadata) || typeof metadata.name !== 'string' || metadata.name === '') return 'no metadata.name';
  const name = metadata.name;
  if (!DNS_SUBDOMAIN.test(name)) return `metadata.name ${show(name)} is not a DNS subdomain`;
  const rv = metadata.resourceVersion;
  if (rv !== undefined && (typeof rv !== 'string' || rv.length > MAX_TEXT)) return `slice ${name}: metadata.resourceVersion is ${show(rv)}, not a string`;
  const addressType = value.addressType;
  if (typeof addressType !== 'string') return `slice ${name} has no addressType`;
  for (const field of ['endpoints', 'ports'] as const) {
    const list = value[field];
    if (list !== undefined && list !== null && !Array.isArray(list)) return `slice ${name}: ${field} is not a list of objects`;
  }
  const endpoints = (value.endpoints ?? []) as unknown[];
  for (let i = 0; i < endpoints.length; i++) {
    // The quick test passes what clusters send; the full one says what is wrong.
    if (endpointFine(endpoints[i], plain)) continue;
    const problem = endpointProblem(endpoints[i], i, plain);
    if (problem) return `slice ${name}: ${problem}`;
  }
  const ports = (value.ports ?? []) as unknown[];
  for (let i = 0; i < ports.length; i++) {
    const problem = portProblem(ports[i], i);
    if (problem) return `slice ${name}: ${problem}`;
  }
  return null;
}

/**
 * True when a JSON text is printable ASCII without escapes (`ascii`: no byte above 0x7f; and
 * no backslash, no DEL): since JSON forbids raw control characters in strings, no string
 * parsed from it can hold one.
 */
export function isPlainJson(bytes: Buffer, ascii: boolean): boolean {
  return ascii && bytes.indexOf(0x5c) < 0 && bytes.indexOf(0x7f) < 0;
}
