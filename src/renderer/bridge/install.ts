/**
 * Picks the bridge the renderer talks through: `window.api` when the Electron preload has
 * installed it, otherwise the web bridge of `quantlab serve`, which is then installed as
 * `window.api` too, so the rest of the renderer never knows which door it came through.
 */
import type { QuantLabBridge } from '../../shared/api/envelope';
import { createWebBridge } from './web-bridge';

/** sessionStorage key: the token survives reloads of this tab, and dies with it. */
export const TOKEN_STORAGE_KEY = 'quantlab.token';

/**
 * Reads the per-launch token from `?token=…` (the link `quantlab serve` prints), keeps it in
 * sessionStorage and removes it from the address bar, so it does not end up in the history,
 * in bookmarks or in a screenshot. Without `?token=` it falls back to the stored one (reloads).
 */
export function takeToken(win: Window = window): string | null {
  const url = new URL(win.location.href);
  const fromUrl = url.searchParams.get('token');
  let storage: Storage | null = null;
  try {
    storage = win.sessionStorage;
  } catch {
    // Storage can be disabled; the token then lives only as long as this page.
  }
  if (fromUrl) {
    try {
      storage?.setItem(TOKEN_STORAGE_KEY, fromUrl);
    } catch {
      // Quota or privacy mode: keep going with the token in memory.
    }
    url.searchParams.delete('token');
    win.history.replaceState(win.history.state, '', `${url.pathname}${url.search}${url.hash}`);
    return fromUrl;
  }
  try {
    return storage?.getItem(TOKEN_STORAGE_KEY) ?? null;
  } catch {
    return null;
  }
}

export function installBridge(win: Window = window): QuantLabBridge {
  if (win.api) return win.api;
  const bridge = createWebBridge({ origin: win.location.origin, token: takeToken(win) });
  win.api = bridge;
  return bridge;
}

let installed: QuantLabBridge | undefined;

/** The bridge of this page, installed on first use. */
export function getBridge(): QuantLabBridge {
  return (installed ??= installBridge());
}
