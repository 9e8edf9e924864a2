/**
 * The Electron door into the services: one invoke channel carrying the contract, one event
 * channel pushing the services' events to every window. The handler trusts nothing about the
 * caller: the sending frame must be the main frame of one of our windows showing our page.
 * Payload validation is the services' job (`services.call` validates against the contract), so
 * IPC and the web bridge validate identically.
 */
import { BrowserWindow, ipcMain, type IpcMainInvokeEvent } from 'electron';
import type { Envelope } from '../../shared/api/envelope';
import { IPC_EVENT, IPC_INVOKE } from '../../shared/ipc';
import type { Services } from '../services';
import type { EventBus } from '../services/events';
import type { AppOrigin } from './paths';

export interface IpcOptions {
  services: Pick<Services, 'call'> & { events: Pick<EventBus, 'subscribe'> };
  origin: Pick<AppOrigin, 'isAppFrameUrl'>;
  /** Our windows; defaults to every BrowserWindow (the app opens no others). */
  windows?: () => BrowserWindow[];
  log?: (line: string) => void;
}

export type SenderVerdict = { ok: true } | { ok: false; reason: string; url: string };

/** Is this invoke from the main frame of one of our windows, showing our page? */
export function checkSender(event: IpcMainInvokeEvent, windows: readonly BrowserWindow[], origin: Pick<AppOrigin, 'isAppFrameUrl'>): SenderVerdict {
  const frame = event.senderFrame;
  if (!frame) return { ok: false, reason: 'the sending frame is gone', url: '' };
  const url = frame.url;
  if (!windows.some((w) => !w.isDestroyed() && w.webContents === event.sender)) {
    return { ok: false, reason: 'it does not come from a QuantLab window', url };
  }
  const main = event.sender.mainFrame;
  const isMainFrame = frame.parent === null && (frame === main || (frame.processId === main.processId && frame.routingId === main.routingId));
  if (!isMainFrame) return { ok: false, reason: 'it comes from a sub-frame', url };
  if (!origin.isAppFrameUrl(url)) return { ok: false, reason: "the page is not QuantLab's own", url };
  return { ok: true };
}

export function forbiddenEnvelope(): Envelope {
  return { ok: false, error: { code: 'forbidden', message: "This page is not allowed to call QuantLab: only QuantLab's own window may." } };
}

/** Registers the handler and the event forwarding; returns a function that removes both. */
export function registerIpc(options: IpcOptions): () => void {
  const log = options.log ?? (() => {});
  const windows = options.windows ?? (() => BrowserWindow.getAllWindows());

  ipcMain.handle(IPC_INVOKE, async (event: IpcMainInvokeEvent, channel: unknown, payload: unknown): Promise<Envelope> => {
    const verdict = checkSender(event, windows(), options.origin);
    if (!verdict.ok) {
      const shown = typeof channel === 'string' ? `'${channel.slice(0, 80)}'` : `a ${typeof channel}`;
      log(`refused IPC call ${shown} from ${verdict.url.slice(0, 200) || 'an unknown frame'}: ${verdict.reason}`);
      return forbiddenEnvelope();
    }
    try {
      return await options.services.call(channel, payload);
    } catch (e) {
      // services.call never throws; this is a last line so the renderer always gets an envelope.
      log(`IPC call failed: ${(e as Error).stack ?? String(e)}`);
      return { ok: false, error: { code: 'internal', message: `QuantLab failed while handling the request: ${(e as Error).message}` } };
    }
  });

  const unsubscribe = options.services.events.subscribe((name, payload) => {
    for (const win of windows()) {
      if (win.isDestroyed() || win.webContents.isDestroyed()) continue;
      win.webContents.send(IPC_EVENT, name, payload);
    }
  });

  return () => {
    ipcMain.removeHandler(IPC_INVOKE);
    unsubscribe();
  };
}
