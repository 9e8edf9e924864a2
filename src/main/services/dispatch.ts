/**
 * The single entry every door uses: validate the channel and the payload against the contract,
 * call the service, and turn any outcome into an envelope. The IPC handler and the web bridge
 * both call `dispatch`, so a request behaves the same whichever transport carried it.
 */
import { channels, isChannelName, type ChannelName, type RequestOf, type ResponseOf } from '../../shared/api/contract';
import type { Envelope } from '../../shared/api/envelope';
import { isUserError } from '../../core/errors';

export type Handlers = { [C in ChannelName]: (request: RequestOf<C>) => Promise<ResponseOf<C>> | ResponseOf<C> };

/** Shortens zod's issue list to one sentence. */
function describeIssues(issues: { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 3)
    .map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}

export async function dispatch(handlers: Handlers, channel: unknown, payload: unknown, log: (line: string) => void = () => {}): Promise<Envelope> {
  if (!isChannelName(channel)) {
    const shown = typeof channel === 'string' ? `'${channel.slice(0, 80)}'` : `a ${typeof channel}`;
    return { ok: false, error: { code: 'unknown-channel', message: `Unknown API channel ${shown}: it is not part of the QuantLab contract.` } };
  }
  const parsed = channels[channel].request.safeParse(payload ?? {});
  if (!parsed.success) {
    return {
      ok: false,
      error: { code: 'bad-request', message: `Request to '${channel}' is invalid: ${describeIssues(parsed.error.issues)}.` },
    };
  }
  try {
    const handler = handlers[channel] as (request: unknown) => Promise<unknown> | unknown;
    const result = await handler(parsed.data);
    return { ok: true, result };
  } catch (e) {
    if (isUserError(e)) return { ok: false, error: { code: 'user-error', kind: e.code, message: e.message } };
    log(`internal error in '${channel}': ${(e as Error).stack ?? String(e)}`);
    return { ok: false, error: { code: 'internal', message: `QuantLab failed while handling '${channel}': ${(e as Error).message}` } };
  }
}
