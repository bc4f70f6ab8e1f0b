/**
 * A program that iterates a watcher and breaks out of the loop: with `break` closing the
 * watcher, nothing is left to keep it alive, so it exits by itself. argv: DNS server, mode.
 */
import { watchPeers } from '../../src/index.ts';

const [server = '', mode = 'break'] = process.argv.slice(2);
const watcher = watchPeers('nginx', { port: 'web', namespace: 'default', servers: [server], minInterval: 50 });

async function first(): Promise<string[]> {
  for await (const { peers } of watcher) {
    if (mode === 'return') return peers.map((p) => p.name ?? p.address);
    console.log(`peers ${peers.map((p) => p.name ?? p.address).join(',')}`);
    break;
  }
  return [];
}

const names = await first();
if (mode === 'return') console.log(`peers ${names.join(',')}`);
console.log(`closed ${watcher.closed}`);
