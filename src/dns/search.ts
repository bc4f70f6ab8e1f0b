import { MAX_NAME_LENGTH, countDots } from './name.js';

/**
 * The absolute names (without trailing dots) a resolver tries for `name`, in order, as glibc's
 * res_nsearch does: a name ending in a dot is only itself; a name with at least `ndots` dots is
 * tried as-is first and then with each search domain; a shorter one gets the search domains
 * first and itself last. Candidates longer than a DNS name can be are skipped.
 * `name` must already be checked (see checkName).
 */
export function searchNames(name: string, search: readonly string[], ndots: number): string[] {
  if (name.endsWith('.') || name === '') return [name.endsWith('.') ? name.slice(0, -1) : name];
  const expanded: string[] = [];
  for (const domain of search) {
    const candidate = `${name}.${domain}`;
    if (candidate.length <= MAX_NAME_LENGTH) expanded.push(candidate);
  }
  return countDots(name) >= ndots ? [name, ...expanded] : [...expanded, name];
}
