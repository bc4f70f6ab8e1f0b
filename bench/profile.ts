/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`): the functions with the most self time and the
 * most total (inclusive) time. Usage: `tsx bench/profile.ts CPU.*.cpuprofile [top]`.
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.startsWith('file://') ? relative(process.cwd(), new URL(url).pathname) : url;
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
}

/** Self and total milliseconds per function label. */
export function summarize(profile: Profile): { self: Map<string, number>; total: Map<string, number>; ms: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const key = label(node);
    self.set(key, (self.get(key) ?? 0) + us / 1000);
    // Inclusive: every distinct function on the stack gets the sample once (recursion counted once).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + us / 1000);
    }
  }
  return { self, total, ms: (profile.endTime - profile.startTime) / 1000 };
}

function main(): void {
  const [file, topText] = process.argv.slice(2);
  if (file === undefined) {
    console.error('usage: tsx bench/profile.ts <file.cpuprofile> [top]');
    process.exitCode = 2;
    return;
  }
  const top = Number(topText ?? 25);
  const { self, total, ms } = summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  const show = (title: string, m: Map<string, number>): void => {
    console.log(`\n${title} (of ${ms.toFixed(0)} ms)`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${v.toFixed(1).padStart(9)} ms ${((100 * v) / ms).toFixed(1).padStart(5)}%  ${k}`);
    }
  };
  show('self time', self);
  show('total time', total);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
