import { createApiClient, type ApiClient } from '../../shared/api/client';
import { getBridge } from '../bridge/install';

let client: ApiClient | undefined;

/**
 * The typed API client (channels and events of `src/shared/api/contract.ts`) over whichever
 * bridge this page has: Electron's preload or the web bridge. One client per page.
 */
export function useApi(): ApiClient {
  return (client ??= createApiClient(getBridge()));
}
