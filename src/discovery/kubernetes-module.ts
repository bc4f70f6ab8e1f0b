/**
 * The Kubernetes API source, loaded on first use: DNS-only users never load the API client
 * (undici). The module is asked for once; every later call gets the same promise, so a
 * `peers()` call does not pay a module resolution (about 2 ms under a loader hook such as tsx).
 */
type KubernetesSourceModule = typeof import('../kubernetes/source.js');

let loading: Promise<KubernetesSourceModule> | null = null;

/** The `kubernetes/source` module; a failed load is tried again on the next call. */
export function loadKubernetesSource(): Promise<KubernetesSourceModule> {
  if (loading === null) {
    const attempt = import('../kubernetes/source.js');
    loading = attempt;
    attempt.catch(() => {
      if (loading === attempt) loading = null;
    });
  }
  return loading;
}
