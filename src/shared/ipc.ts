/** Names of the Electron IPC channels that carry the contract (one for requests, one for events). */
export const IPC_INVOKE = 'quantlab:invoke';
export const IPC_EVENT = 'quantlab:event';
