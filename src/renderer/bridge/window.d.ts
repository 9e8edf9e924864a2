import type { QuantLabBridge } from '../../shared/api/envelope';

declare global {
  interface Window {
    /**
     * The one door to the main process. The Electron preload installs it through contextBridge;
     * in a browser (`quantlab serve`) `installBridge()` installs the web bridge here instead.
     */
    api?: QuantLabBridge;
  }
}

export {};
