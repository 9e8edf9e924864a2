/**
 * What travels over either transport: a response is an envelope, never a thrown exception,
 * so errors keep their code and sentence across IPC and HTTP alike.
 */
export type ApiErrorCode =
  | 'unknown-channel'
  | 'bad-request'
  | 'unauthorized'
  | 'forbidden'
  | 'user-error'
  | 'internal'
  | 'transport';

export interface ApiErrorBody {
  code: ApiErrorCode;
  /** One sentence a researcher understands. */
  message: string;
  /** For user errors: the error's own kind, e.g. 'bad-model'. */
  kind?: string;
}

export type Envelope<T = unknown> = { ok: true; result: T } | { ok: false; error: ApiErrorBody };

/**
 * The transport-level object the preload (Electron) or the web bridge (browser) installs as
 * `window.api`. The renderer wraps it with `createApiClient`.
 */
export interface QuantLabBridge {
  readonly transport: 'electron' | 'web';
  invoke(channel: string, request: unknown): Promise<Envelope>;
  on(event: string, listener: (payload: unknown) => void): () => void;
}

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly kind: string | undefined;
  constructor(body: ApiErrorBody) {
    super(body.message);
    this.name = 'ApiError';
    this.code = body.code;
    this.kind = body.kind;
  }
}
