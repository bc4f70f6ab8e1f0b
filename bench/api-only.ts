/**
 * The API source against its floor and client-node, alone (part 8 of `npm run bench`):
 * `npm run bench:api`.
 */
import { runApiSize, type ApiSizeResults } from './api-limits.ts';
import { apiLimitsTable, limitTargets } from './limits-report.ts';

const env = (name: string, fallback: number): number => (process.env[name] ? Number(process.env[name]) : fallback);
const log = (line: string): void => console.error(line);
const sizes: ApiSizeResults[] = [];
// 21 rounds at 10,000 (a ~40 ms list scatters by 10-20% on a loaded machine) and 11 changes at
// 100,000 (4 were too few for a p50): medians need them.
sizes.push(await runApiSize({ pods: 10_000, rounds: env('BENCH_API_ROUNDS', 21), changes: env('BENCH_API_CHANGES', 12), peak: false, log }));
sizes.push(await runApiSize({ pods: 100_000, rounds: env('BENCH_API_ROUNDS', 3), changes: env('BENCH_API_CHANGES', 11), peak: true, log }));
console.log(apiLimitsTable(sizes));
for (const t of limitTargets(null, sizes)) console.log(JSON.stringify(t));
