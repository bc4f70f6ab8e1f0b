/**
 * What the multi-process examples (local-cluster, bootstrap) share: the runner starts one member
 * process per pod with the environment a pod would have, and stops them as the kubelet does;
 * a member reads that environment.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A member's environment variable; throws when it is not set (the runner sets them all). */
export function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`member: environment variable ${name} is not set`);
  return value;
}

/** Prints one line on stdout (the runner reads members' lines). */
export const log = (line: string): void => void process.stdout.write(`${line}\n`);

/** The pod a member runs as. */
export interface MemberPod {
  name: string;
  namespace: string;
  address: string;
}

/**
 * Starts `node --import tsx <script>` as `pod`, with POD_NAME, POD_IP, POD_NAMESPACE, SERVICE,
 * DNS_SERVER and `extraEnv`; prints its lines prefixed with the pod's name and hands each stdout line to `onLine`.
 */
export function startMember(script: string, pod: MemberPod, service: string, dnsServer: string, extraEnv: Record<string, string>, onLine: (line: string) => void): ChildProcess {
  process.stdout.write(`starting ${pod.name} on ${pod.address}\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, POD_NAME: pod.name, POD_IP: pod.address, POD_NAMESPACE: pod.namespace, SERVICE: service, DNS_SERVER: dnsServer, ...extraEnv },
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    process.stdout.write(`  [${pod.name}] ${line}\n`);
    onLine(line);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(`  [${pod.name}] ${line}\n`));
  return child;
}

/** Stops the members as the kubelet would (SIGTERM), and waits for them to be gone. */
export async function stopMembers(members: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    members.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}
