import { networkInterfaces, hostname as osHostname } from 'node:os';

/** What tells whether a peer is this process's own pod. */
export interface SelfIdentity {
  /** This machine's interface addresses. */
  addresses: ReadonlySet<string>;
  /** os.hostname(), lower case. */
  hostname: string;
}

/** Reads this machine's interface addresses and host name (call once per resolution). */
export function localIdentity(): SelfIdentity {
  const addresses = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) addresses.add(info.address.toLowerCase());
  }
  return { addresses, hostname: osHostname().toLowerCase() };
}
