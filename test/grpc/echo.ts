// A real grpc-js server on each pod address of a test cluster, and a client for it: no protos,
// a unary method whose answer is the name of the pod that served it.
import type * as GrpcJs from '@grpc/grpc-js';
import { textUnaryMethod } from '../../examples/shared/text-method.ts';

/** The grpc-js module under test (latest or 1.10, same API for what is used here). */
export type Grpc = typeof GrpcJs;

/** The service definition: /test.Echo/Who answers the serving pod's name. */
export const echoService = { who: textUnaryMethod('/test.Echo/Who') };

/** A client of the echo service. */
export interface EchoClient extends GrpcJs.Client {
  who(request: string, options: GrpcJs.CallOptions, callback: (error: GrpcJs.ServiceError | null, pod?: string) => void): GrpcJs.ClientUnaryCall;
}

/** The client class for a grpc-js module. */
export function echoClientClass(grpc: Grpc): new (target: string, credentials: GrpcJs.ChannelCredentials, options?: GrpcJs.ChannelOptions) => EchoClient {
  return grpc.makeGenericClientConstructor(echoService, 'Echo') as unknown as new (
    target: string,
    credentials: GrpcJs.ChannelCredentials,
    options?: GrpcJs.ChannelOptions,
  ) => EchoClient;
}

/** One pod's server. */
export interface PodServer {
  pod: string;
  address: string;
  /** Calls it answered. */
  served: number;
  /** Requests (call ids) it received, answered or not. */
  received: Set<string>;
  server: GrpcJs.Server;
}

/** Starts a grpc-js echo server for `pod` on `address:port`; each answer waits `delayMs` (calls are in flight when pods go). */
export async function startEchoServer(grpc: Grpc, pod: string, address: string, port: number, delayMs = 2): Promise<PodServer> {
  const server = new grpc.Server();
  const state: PodServer = { pod, address, served: 0, received: new Set(), server };
  server.addService(echoService, {
    who: (call: GrpcJs.ServerUnaryCall<string, string>, callback: GrpcJs.sendUnaryData<string>) => {
      state.received.add(call.request);
      setTimeout(() => {
        state.served++;
        callback(null, pod);
      }, delayMs);
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`${address}:${port}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
  return state;
}

/** Lets in-flight calls finish, then stops (as a pod that drains). */
export function drain(state: PodServer): Promise<void> {
  return new Promise((resolve) => state.server.tryShutdown(() => resolve()));
}
