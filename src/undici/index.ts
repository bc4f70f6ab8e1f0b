// `headless-sd/undici`: an undici Dispatcher over a headless Service's live peers.
export { createPeerDispatcher, PeerDispatcher } from './dispatcher.js';
export type { PeerDispatcherOptions } from './dispatcher.js';
