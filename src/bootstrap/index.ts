// headless-sd/bootstrap: forming a cluster from a headless Service without split brain.
export { bootstrap } from './bootstrap.js';
export type { BootstrapDecision, BootstrapOptions, BootstrapProbeFunction, BootstrapSelf } from './options.js';
export { BootstrapError, BootstrapErrorCode, isBootstrapError } from './errors.js';
export type { BootstrapErrorCodeValue } from './errors.js';
export { BootstrapLatch } from './latch.js';
export { createBootstrapProbe } from './http-probe.js';
export type { BootstrapProbe, BootstrapProbeOptions } from './http-probe.js';
