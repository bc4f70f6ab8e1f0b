// headless-sd/grpc against @grpc/grpc-js 1.10, the oldest supported (a listener object with onSuccessfulResolution / onError).
import * as grpc from 'grpc-js-1-10';
import { grpcAdapterTests } from './scenarios.ts';

grpcAdapterTests(grpc, (await import('grpc-js-1-10/package.json', { with: { type: 'json' } })).default.version);
