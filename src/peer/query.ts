import { InvalidArgumentError } from '../dns/invalid-argument.js';

/** Transport protocol of a Service port, as SRV names it. */
export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** Address family filter: 4, 6, or 0 for both. */
export type Family = 0 | 4 | 6;

// IANA service names, which Kubernetes requires of port names: 1-15 of [a-z0-9-], a letter somewhere, no leading/trailing/double '-'.
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*(?<!-)$/i;

/** Checks `port`: a port name (IANA service name), a port number, or null/undefined. */
export function checkPort(port: unknown): string | number | null {
  if (port === undefined || port === null) return null;
  if (typeof port === 'number') {
    if (Number.isInteger(port) && port >= 1 && port <= 65535) return port;
  } else if (typeof port === 'string' && port.length <= 15 && PORT_NAME.test(port)) {
    return port.toLowerCase();
  }
  throw new InvalidArgumentError('port', port, 'a port name (1-15 letters, digits, "-") or a number in 1..65535');
}

/** Checks `protocol` (default 'tcp'). */
export function checkProtocol(protocol: unknown): PortProtocol {
  if (protocol === undefined) return 'tcp';
  const p = typeof protocol === 'string' ? protocol.toLowerCase() : protocol;
  if (p === 'tcp' || p === 'udp' || p === 'sctp') return p;
  throw new InvalidArgumentError('protocol', protocol, "'tcp', 'udp' or 'sctp'");
}

/** Checks `family` (default 0). */
export function checkFamily(family: unknown): Family {
  if (family === undefined) return 0;
  if (family === 0 || family === 4 || family === 6) return family;
  throw new InvalidArgumentError('family', family, '0, 4 or 6');
}
