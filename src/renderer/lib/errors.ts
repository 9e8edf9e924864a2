import { ApiError, type ApiErrorCode } from '../../shared/api/envelope';

/** What the UI keeps of a failed call: the contract's error code and its sentence. */
export interface ErrorInfo {
  code: ApiErrorCode | 'unexpected';
  message: string;
}

export function toErrorInfo(e: unknown): ErrorInfo {
  if (e instanceof ApiError) return { code: e.code, message: e.message };
  return { code: 'unexpected', message: e instanceof Error ? e.message : String(e) };
}

/** What the user can do about an error, when its code says more than its sentence. */
export function errorHint(error: ErrorInfo): string | null {
  switch (error.code) {
    case 'unauthorized':
      return 'This page has no valid access token: the server was restarted, or the page was opened without its link. Open the link `quantlab serve` printed (it ends in ?token=…).';
    case 'forbidden':
      return 'The QuantLab server only answers pages it served itself, on 127.0.0.1 or localhost. Open the link `quantlab serve` printed.';
    case 'transport':
      return 'The connection to QuantLab is down. If you used `quantlab serve`, check that it is still running in its terminal.';
    default:
      return null;
  }
}
