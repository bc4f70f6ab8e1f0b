/** What {@link kubeconfigText} writes. */
export interface KubeconfigSpec {
  /** API server URL. */
  server: string;
  /** PEM of the CA that signed the server's certificate (written as certificate-authority-data). */
  ca?: string;
  /** Bearer token of the user. */
  token?: string;
  /** The context's namespace (default `default`). */
  namespace?: string;
  /** Name of the cluster, user and context (default `headless-sd-fake`). */
  name?: string;
}

// A JSON string is a YAML double-quoted scalar: no YAML library needed to write one safely.
const q = (text: string): string => JSON.stringify(text);

/** A kubeconfig with one cluster, user and context (the current one), as kubectl reads it. */
export function kubeconfigText(spec: KubeconfigSpec): string {
  const name = spec.name ?? 'headless-sd-fake';
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    'preferences: {}',
    'clusters:',
    `- name: ${q(name)}`,
    '  cluster:',
    `    server: ${q(spec.server)}`,
    ...(spec.ca ? [`    certificate-authority-data: ${q(Buffer.from(spec.ca).toString('base64'))}`] : []),
    'users:',
    `- name: ${q(name)}`,
    ...(spec.token ? ['  user:', `    token: ${q(spec.token)}`] : ['  user: {}']),
    'contexts:',
    `- name: ${q(name)}`,
    '  context:',
    `    cluster: ${q(name)}`,
    `    user: ${q(name)}`,
    `    namespace: ${q(spec.namespace ?? 'default')}`,
    `current-context: ${q(name)}`,
  ];
  return `${lines.join('\n')}\n`;
}
