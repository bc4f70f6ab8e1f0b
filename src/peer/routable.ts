import type { Peer } from './peer.js';

/**
 * The peers to send new work to, as kube-proxy picks endpoints: the ready ones that are not
 * terminating; when there are none, those still serving while they terminate (they drain,
 * but beat nothing). With the default sources every listed peer is ready; with
 * `includeNotReady` the API also lists starting and terminating pods, which this leaves out.
 */
export function routablePeers(peers: readonly Peer[]): Peer[] {
  const ready = peers.filter((p) => p.ready && !p.terminating);
  if (ready.length > 0) return ready;
  return peers.filter((p) => p.serving && p.terminating);
}
