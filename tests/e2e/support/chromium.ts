/**
 * The Chromium the end-to-end tests drive: Debian's, not Playwright's download (this machine is
 * offline). QUANTLAB_CHROMIUM points elsewhere when needed.
 */
export const CHROMIUM_PATH = process.env.QUANTLAB_CHROMIUM ?? '/usr/lib/chromium/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
