// The peer model shared by every source (DNS, the Kubernetes API) and every layer above them.
export { makePeer, peerKey, comparePeers, peerDetailsDiffer, peerHostPort } from './peer.js';
export type { Peer, PeerChange, PeerInit, PeerPod } from './peer.js';
export { normalizePeers, normalizeInPlace, mergePeerRuns, concatDisjoint, diffPeers, isEmptyChange } from './diff.js';
export { routablePeers } from './routable.js';
export { localIdentity } from './self.js';
export type { SelfIdentity } from './self.js';
export { ordinalOf, firstLabel, withoutTrailingDot } from './names.js';
export { checkPort, checkProtocol, checkFamily } from './query.js';
export type { PortProtocol, Family } from './query.js';
