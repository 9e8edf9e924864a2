/**
 * The main process's event bus: services emit contract events here, and each transport
 * (IPC to windows, WebSocket to browsers) forwards them. Payloads are validated on emit, so no
 * transport ever carries an event the contract does not describe.
 */
import { EventEmitter } from 'node:events';
import { events, type EventName, type EventOf } from '../../shared/api/contract';

export type EventListener = (event: EventName, payload: unknown) => void;

export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  emit<E extends EventName>(event: E, payload: EventOf<E>): void {
    const parsed = events[event].parse(payload);
    this.emitter.emit('event', event, parsed);
  }

  /** Every event, for transports; returns an unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
