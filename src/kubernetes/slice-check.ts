/**
 * Checks of an EndpointSlice as it comes off the wire: every field this package reads has the
 * type and range the API gives it, so that nothing later (a string method on a number, a
 * template literal over a nested array) can throw on what a server sent.
 */

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// DNS-1123 label (an endpoint's hostname), DNS-1123 subdomain (object names), as the API server validates them.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
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

/** Why an optional string field is wrong ("is 5, not a string"), or null. Messages are built only on failure. */
function textProblem(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return `is ${show(value)}, not a string`;
  if (value.length > MAX_TEXT) return `is longer than ${MAX_TEXT} characters`;
  // Plain ASCII first: one quick test for what clusters send.
  if (!ASCII.test(value) && !PRINTABLE.test(value)) return `${show(value)} holds control characters`;
  return null;
}

function booleanProblem(value: unknown): string | null {
  if (value === undefined || value === null || typeof value === 'boolean') return null;
  return `is ${show(value)}, not a boolean`;
}

/** The first problem among `fields` of `object`, as "<prefix>.<field> <problem>". */
function fieldsProblem(object: Record<string, unknown>, fields: readonly string[], check: (v: unknown) => string | null, prefix: string): string | null {
  for (const f of fields) {
    const problem = check(object[f]);
    if (problem) return `${prefix}.${f} ${problem}`;
  }
  return null;
}

const CONDITIONS = ['ready', 'serving', 'terminating'] as const;
const ENDPOINT_TEXT = ['zone', 'nodeName'] as const;
const REF_TEXT = ['kind', 'name', 'namespace', 'uid'] as const;
const PORT_TEXT = ['name', 'protocol', 'appProtocol'] as const;

function endpointProblem(endpoint: unknown, i: number): string | null {
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
    const problem = fieldsProblem(conditions, CONDITIONS, booleanProblem, `endpoints[${i}].conditions`);
    if (problem) return problem;
  }
  const problem = fieldsProblem(endpoint, ENDPOINT_TEXT, textProblem, `endpoints[${i}]`);
  if (problem) return problem;
  const ref = endpoint.targetRef;
  if (ref === undefined || ref === null) return null;
  if (!isObject(ref)) return `endpoints[${i}].targetRef is ${show(ref)}, not an object`;
  return fieldsProblem(ref, REF_TEXT, textProblem, `endpoints[${i}].targetRef`);
}

function portProblem(port: unknown, i: number): string | null {
  if (!isObject(port)) return `ports[${i}] is ${show(port)}, not an object`;
  const problem = fieldsProblem(port, PORT_TEXT, textProblem, `ports[${i}]`);
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
 * in the object's size, with no recursion.
 */
export function endpointSliceProblem(value: unknown): string | null {
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
    const problem = endpointProblem(endpoints[i], i);
    if (problem) return `slice ${name}: ${problem}`;
  }
  const ports = (value.ports ?? []) as unknown[];
  for (let i = 0; i < ports.length; i++) {
    const problem = portProblem(ports[i], i);
    if (problem) return `slice ${name}: ${problem}`;
  }
  return null;
}
