/**
 * The QuantLabBridge the preload installs as `window.api`.
 *
 * The contract's channel and event names arrive as a build-time constant
 * (`__QUANTLAB_API_NAMES__`, defined in electron.vite.config.ts from src/shared/api/contract),
 * so the contract stays the one place that names them without bundling zod into the preload. The main process validates every request again; the checks
 * here only keep junk off the IPC channel and the IpcRendererEvent out of the page.
 */
import { ipcRenderer, type IpcRendererEvent } from 'electron';
import type { ChannelName, EventName } from '../shared/api/contract';
import type { Envelope, QuantLabBridge } from '../shared/api/envelope';
import { IPC_EVENT, IPC_INVOKE } from '../shared/ipc';

declare const __QUANTLAB_API_NAMES__: { channels: readonly ChannelName[]; events: readonly EventName[] } | undefined;

export interface ContractNames {
  channels: ReadonlySet<string>;
  events: ReadonlySet<string>;
}

/** The names baked in at build time; none at all (so nothing passes) if they are missing. */
function builtInNames(): ContractNames {
  const names = typeof __QUANTLAB_API_NAMES__ === 'undefined' ? undefined : __QUANTLAB_API_NAMES__;
  return { channels: new Set(names?.channels ?? []), events: new Set(names?.events ?? []) };
}

function shown(value: unknown): string {
  return typeof value === 'string' ? `'${value.slice(0, 80)}'` : `a ${typeof value}`;
}

export function createBridge(names: ContractNames = builtInNames()): QuantLabBridge {
  // One IPC listener for all subscriptions (attached while there is at least one), so many
  // components listening never trip EventEmitter's max-listeners warning.
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  // The page sees only the payload, never the IpcRendererEvent (it carries `sender`).
  const relay = (_ipcEvent: IpcRendererEvent, name: unknown, payload: unknown): void => {
    if (typeof name !== 'string') return;
    for (const listener of [...(listeners.get(name) ?? [])]) {
      try {
        listener(payload);
      } catch (e) {
        console.error(`A listener for '${name}' failed:`, e);
      }
    }
  };
  let attached = false;

  return Object.freeze({
    transport: 'electron' as const,

    async invoke(channel: string, request: unknown): Promise<Envelope> {
      if (typeof channel !== 'string' || !names.channels.has(channel)) {
        return {
          ok: false,
          error: { code: 'unknown-channel', message: `Unknown API channel ${shown(channel)}: it is not part of the QuantLab contract.` },
        };
      }
      try {
        return (await ipcRenderer.invoke(IPC_INVOKE, channel, request)) as Envelope;
      } catch (e) {
        // e.g. a request that cannot be structured-cloned, or the main process going away.
        return {
          ok: false,
          error: { code: 'transport', message: `The request to '${channel}' did not reach QuantLab: ${(e as Error)?.message ?? String(e)}` },
        };
      }
    },

    on(event: string, listener: (payload: unknown) => void): () => void {
      if (typeof listener !== 'function') throw new TypeError(`The listener for ${shown(event)} must be a function.`);
      if (typeof event !== 'string' || !names.events.has(event)) {
        // Like the web bridge: an event that is not in the contract simply never fires.
        console.warn(`Unknown API event ${shown(event)}: it is not part of the QuantLab contract, so it never fires.`);
        return () => {};
      }
      // A wrapper per subscription, so subscribing one function twice needs two unsubscribes.
      const entry = (payload: unknown): void => listener(payload);
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(entry);
      if (!attached) {
        ipcRenderer.on(IPC_EVENT, relay);
        attached = true;
      }
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        set.delete(entry);
        if (set.size === 0) listeners.delete(event);
        if (listeners.size === 0 && attached) {
          ipcRenderer.removeListener(IPC_EVENT, relay);
          attached = false;
        }
      };
    },
  });
}
