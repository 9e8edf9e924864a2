import type { ChannelName, EventName, EventOf, RequestOf, ResponseOf } from './contract';
import { ApiError, type QuantLabBridge } from './envelope';

/** A typed client over either bridge: unwraps envelopes, throws ApiError on failure. */
export function createApiClient(bridge: QuantLabBridge) {
  return {
    transport: bridge.transport,
    async invoke<C extends ChannelName>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
      const envelope = await bridge.invoke(channel, request);
      if (!envelope.ok) throw new ApiError(envelope.error);
      return envelope.result as ResponseOf<C>;
    },
    on<E extends EventName>(event: E, listener: (payload: EventOf<E>) => void): () => void {
      return bridge.on(event, (payload) => listener(payload as EventOf<E>));
    },
  };
}
export type ApiClient = ReturnType<typeof createApiClient>;
