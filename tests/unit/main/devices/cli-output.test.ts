import { describe, expect, it } from 'vitest';
import { CliContext } from '../../../../src/cli/context';
import { printListing } from '../../../../src/cli/commands/devices';
import { parseDelegates, parseThreads } from '../../../../src/cli/commands/bench';
import { stateHint } from '../../../../src/main/devices/facts';
import type { DeviceListing } from '../../../../src/shared/api/contract';

function capture(): { ctx: CliContext; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const ctx = new CliContext({ workspace: '/nonexistent' }, (t) => (out += t), (t) => (err += t));
  return { ctx, out: () => out, err: () => err };
}

describe('quantlab devices (text)', () => {
  it('prints a table with the helpful line under each device that is not ready, and server errors on stderr', () => {
    const listing: DeviceListing = {
      servers: [
        { address: '127.0.0.1:5037', source: 'default', ok: true, version: 41, started: true, error: null },
        { address: '10.0.0.9:5037', source: 'flag', ok: false, version: null, started: false, error: 'No adb server answers at 10.0.0.9:5037.' },
      ],
      devices: [
        {
          server: '127.0.0.1:5037',
          serial: 'R58M1234',
          state: 'device',
          status: 'device',
          hint: null,
          transport: 'usb',
          facts: { model: 'Pixel 7', sdk: 34, abi: 'arm64-v8a' } as DeviceListing['devices'][number]['facts'],
          factsError: null,
        },
        { server: '127.0.0.1:5037', serial: 'ZX1', state: 'unauthorized', status: 'unauthorized', hint: stateHint('unauthorized'), transport: 'usb', facts: null, factsError: null },
      ],
    };
    const c = capture();
    printListing(c.ctx, listing);
    expect(c.out().split('\n')).toEqual([
      'SERIAL    STATE         MODEL    SDK  ABI        SERVER',
      'R58M1234  device        Pixel 7  34   arm64-v8a  127.0.0.1:5037',
      'ZX1       unauthorized  -        -    -          127.0.0.1:5037',
      `  → ${stateHint('unauthorized')}`,
      '',
    ]);
    expect(c.err()).toBe('Started the adb server at 127.0.0.1:5037.\nadb server 10.0.0.9:5037: No adb server answers at 10.0.0.9:5037.\n');
  });

  it('says what to do when there is no device', () => {
    const c = capture();
    printListing(c.ctx, { servers: [{ address: '127.0.0.1:5037', source: 'default', ok: true, version: 41, started: false, error: null }], devices: [] });
    expect(c.out()).toMatch(/^No devices\. Plug a phone in with USB debugging on/);
  });

  it('parses the delegate and thread matrices, refusing the rest', () => {
    expect(parseDelegates('cpu, GPU,nnapi,cpu')).toEqual(['cpu', 'gpu', 'nnapi']);
    expect(() => parseDelegates('tpu')).toThrow(/'tpu' is not a delegate/);
    expect(parseThreads('1,2,4,2')).toEqual([1, 2, 4]);
    expect(() => parseThreads('0')).toThrow(/thread count/);
    expect(() => parseThreads('x')).toThrow(/thread count/);
  });
});
