import { describe, expect, it } from 'vitest';
import { factsFromProperties, nnapiForSdk, stateHint, statusOf, transportOf } from '../../../../src/main/devices/facts';

describe('device facts', () => {
  it('maps SDK levels to NNAPI feature levels', () => {
    expect(nnapiForSdk(26)).toBeNull();
    expect(nnapiForSdk(null)).toBeNull();
    expect(nnapiForSdk(27)).toMatchObject({ featureLevel: 1, version: 'NNAPI 1.0' });
    expect(nnapiForSdk(28)).toMatchObject({ featureLevel: 2, version: 'NNAPI 1.1' });
    expect(nnapiForSdk(29)).toMatchObject({ featureLevel: 3, version: 'NNAPI 1.2' });
    expect(nnapiForSdk(30)).toMatchObject({ featureLevel: 4, version: 'NNAPI 1.3' });
    expect(nnapiForSdk(31)).toMatchObject({ featureLevel: 5 });
    expect(nnapiForSdk(32)).toMatchObject({ featureLevel: 5 });
    expect(nnapiForSdk(33)).toMatchObject({ featureLevel: 6 });
    expect(nnapiForSdk(34)).toMatchObject({ featureLevel: 7 });
    expect(nnapiForSdk(35)!.notes.join(' ')).toMatch(/deprecated/);
    expect(nnapiForSdk(28)!.notes.join(' ')).toMatch(/per-channel/);
    expect(nnapiForSdk(29)!.notes.join(' ')).toMatch(/signed int8/);
  });

  it('reads the properties that matter, tolerating missing ones', () => {
    const f = factsFromProperties({
      'ro.product.model': 'Pixel 7',
      'ro.product.manufacturer': 'Google',
      'ro.soc.model': 'GS201',
      'ro.board.platform': 'gs201',
      'ro.product.cpu.abi': 'arm64-v8a',
      'ro.product.cpu.abilist': 'arm64-v8a,armeabi-v7a',
      'ro.build.version.release': '14',
      'ro.build.version.sdk': '34',
    });
    expect(f).toMatchObject({ model: 'Pixel 7', manufacturer: 'Google', soc: 'GS201', platform: 'gs201', abi: 'arm64-v8a', abis: ['arm64-v8a', 'armeabi-v7a'], androidVersion: '14', sdk: 34 });
    expect(f.nnapi!.featureLevel).toBe(7);
    expect(factsFromProperties({ 'ro.build.version.sdk': 'x' })).toMatchObject({ model: null, sdk: null, nnapi: null, abis: [] });
  });

  it('has a helpful line for every state that is not ready', () => {
    expect(stateHint('device')).toBeNull();
    expect(stateHint('unauthorized')).toMatch(/^Unlock the phone and allow USB debugging/);
    for (const s of ['offline', 'no permissions', 'authorizing', 'connecting', 'bootloader', 'recovery', 'sideload', 'host', 'weird']) expect(stateHint(s), s).toBeTruthy();
    expect(stateHint('offline', '10.0.0.2:5555')).toMatch(/network/);
    expect(statusOf('emulator')).toBe('device');
    expect(statusOf('authorizing')).toBe('unauthorized');
    expect(statusOf('no permissions')).toBe('unknown');
    expect(transportOf('emulator-5554')).toBe('emulator');
    expect(transportOf('127.0.0.1:40000')).toBe('tcp');
    expect(transportOf('R58M12345')).toBe('usb');
  });
});
