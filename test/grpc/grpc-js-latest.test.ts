// headless-sd/grpc against the newest @grpc/grpc-js (its resolver listener is a function of StatusOr values).
import * as grpc from '@grpc/grpc-js';
import { grpcAdapterTests } from './scenarios.ts';

grpcAdapterTests(grpc, (await import('@grpc/grpc-js/package.json', { with: { type: 'json' } })).default.version);
