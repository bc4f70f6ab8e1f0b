/**
 * undici, imported by its file path. Bun replaces the bare specifier `undici` with a
 * built-in stand-in whose Agent has no destroy()/close() and whose request() ignores the
 * dispatcher (so the cluster CA and client certificate would go unused and TLS would fail
 * verification). The package's own file is the real undici on Node, Bun and Deno alike:
 * one transport, with the same TLS verification, timeouts and dispatchers everywhere.
 */
export { Agent, buildConnector, request } from 'undici/index.js';
export type { Dispatcher } from 'undici/index.js';
