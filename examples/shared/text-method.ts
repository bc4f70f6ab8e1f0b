/** A unary gRPC method of UTF-8 strings, without protos (the grpc example and the grpc tests use it). */

const serialize = (value: string): Buffer => Buffer.from(value, 'utf8');
const deserialize = (bytes: Buffer): string => bytes.toString('utf8');

/** The method definition for `path` (e.g. `/example.Greeter/Hello`), for `makeGenericClientConstructor` and `addService`. */
export function textUnaryMethod(path: string) {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  } as const;
}
