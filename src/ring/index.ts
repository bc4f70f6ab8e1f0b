// Rendezvous hashing over a peer set: which peer owns a key.
export { PeerRing } from './ring.js';
export type { PeerRingOptions } from './ring.js';
