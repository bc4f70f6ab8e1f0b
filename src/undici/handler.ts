import type { Dispatcher } from 'undici/index.js';

/**
 * Ends a request that never reached a peer, through whichever handler API it speaks:
 * undici's legacy `onError` (what `request()` uses) or `onResponseError` (the v7 API).
 */
export function failHandler(handler: Dispatcher.DispatchHandler, error: Error): void {
  const legacy = handler as { onError?: (error: Error) => void };
  if (typeof legacy.onError === 'function') {
    legacy.onError(error);
  } else if (typeof handler.onResponseError === 'function') {
    const controller: Dispatcher.DispatchController = {
      aborted: true,
      paused: false,
      reason: error,
      abort: () => {},
      pause: () => {},
      resume: () => {},
    };
    handler.onResponseError(controller, error);
  } else {
    throw error;
  }
}
