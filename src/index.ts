export { DnsError, DnsErrorCode, isDnsError } from './dns/errors.js';
export type { DnsErrorCodeValue, DnsErrorDetails } from './dns/errors.js';
