import { describe, expect, it } from 'vitest';
import { createServices } from '../../../../src/main/services';
import { dispatch, type Handlers } from '../../../../src/main/services/dispatch';
import { UserError } from '../../../../src/core/errors';
import { AppInfo } from '../../../../src/shared/api/contract';

describe('dispatch: the one entry both transports use', () => {
  const services = createServices({ workspaceDir: '/tmp/ws-test', transport: 'web', log: () => {} });

  it('answers a valid request with a result that satisfies the contract', async () => {
    const env = await services.call('app.info', {});
    expect(env.ok).toBe(true);
    if (env.ok) {
      expect(AppInfo.parse(env.result).workspaceDir).toBe('/tmp/ws-test');
      expect((env.result as AppInfo).transport).toBe('web');
    }
  });

  it('refuses a channel that is not on the contract, quoting it', async () => {
    const env = await services.call('fs.delete', {});
    expect(env).toEqual({ ok: false, error: { code: 'unknown-channel', message: expect.stringContaining("'fs.delete'") } });
    const env2 = await services.call(42, {});
    expect(env2.ok).toBe(false);
    if (!env2.ok) expect(env2.error.code).toBe('unknown-channel');
  });

  it('refuses a payload that fails validation and names the channel', async () => {
    const env = await services.call('app.info', { extra: 1 });
    expect(env.ok).toBe(false);
    if (!env.ok) {
      expect(env.error.code).toBe('bad-request');
      expect(env.error.message).toMatch(/^Request to 'app.info' is invalid: /);
    }
    const env2 = await services.call('doctor.report', 'not an object');
    expect(env2.ok).toBe(false);
  });

  it('turns user errors into user-error envelopes and bugs into internal ones, never throwing', async () => {
    const logged: string[] = [];
    const handlers = {
      'app.info': () => {
        throw new UserError('bad-workspace', "Workspace '/x' is a file, not a folder.");
      },
      'doctor.report': () => {
        throw new TypeError('boom');
      },
    } as unknown as Handlers;
    expect(await dispatch(handlers, 'app.info', {})).toEqual({
      ok: false,
      error: { code: 'user-error', kind: 'bad-workspace', message: "Workspace '/x' is a file, not a folder." },
    });
    const env = await dispatch(handlers, 'doctor.report', {}, (l) => logged.push(l));
    expect(env.ok).toBe(false);
    if (!env.ok) expect(env.error.code).toBe('internal');
    expect(logged[0]).toContain('TypeError: boom');
  });

  it('validates events on emit, so no transport carries an off-contract event', () => {
    const seen: unknown[] = [];
    const off = services.events.subscribe((event, payload) => seen.push([event, payload]));
    services.events.emit('job.progress', { jobId: 'j1', stage: 'calibrate', done: 3, total: 10, etaMs: 500, state: 'running', experimentId: null, kind: 'eval' });
    expect(() =>
      services.events.emit('job.progress', { jobId: 'j1', stage: 'x', done: -1, total: 10, etaMs: null, state: 'running', experimentId: null, kind: 'eval' }),
    ).toThrow();
    off();
    services.events.emit('job.progress', { jobId: 'j2', stage: 'x', done: 0, total: null, etaMs: null, state: 'queued', experimentId: null, kind: 'eval' });
    expect(seen).toEqual([['job.progress', { jobId: 'j1', stage: 'calibrate', done: 3, total: 10, etaMs: 500, state: 'running', experimentId: null, kind: 'eval' }]]);
  });
});
