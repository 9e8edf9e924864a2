/**
 * Device facts from `getprop`, the NNAPI feature level that follows from the SDK level, and a
 * helpful line for every state adb can report.
 */
import type { ToolFacts } from './benchmark-parser';

export interface NnapiInfo {
  /** NNAPI feature level (1 = NNAPI 1.0 on Android 8.1 … 8 on Android 15). */
  featureLevel: number;
  /** 'NNAPI 1.2', 'NNAPI feature level 5', … */
  version: string;
  /** What this level means for int8 models. */
  notes: string[];
}

export interface DeviceFacts {
  model: string | null;
  manufacturer: string | null;
  brand: string | null;
  device: string | null;
  /** SoC name (`ro.soc.model`, Android 12+), else null. */
  soc: string | null;
  socManufacturer: string | null;
  /** Board platform (`ro.board.platform`, e.g. 'gs201', 'kalama'). */
  platform: string | null;
  board: string | null;
  hardware: string | null;
  abi: string | null;
  abis: string[];
  androidVersion: string | null;
  sdk: number | null;
  nnapi: NnapiInfo | null;
  fingerprint: string | null;
  /** What the benchmark tool reported about NNAPI accelerators and the GPU, once a run has shown it. */
  tool: ToolFacts | null;
}

/**
 * NNAPI feature levels by Android API level. From Android 12 (API 31) NNAPI is updatable and
 * reports feature levels 5+; Android 13 is 6, 14 is 7, 15 is 8 (where NNAPI is deprecated).
 */
export function nnapiForSdk(sdk: number | null): NnapiInfo | null {
  if (sdk === null || !Number.isFinite(sdk) || sdk < 27) return null;
  const level = sdk >= 35 ? 8 : sdk >= 34 ? 7 : sdk >= 33 ? 6 : sdk >= 31 ? 5 : sdk - 26;
  const version = level <= 4 ? `NNAPI 1.${level - 1}` : `NNAPI feature level ${level}`;
  const notes: string[] = [];
  if (level < 3) notes.push('No per-channel int8 weights (they need NNAPI 1.2, Android 10): per-channel models fall back to the CPU.');
  if (level < 4) notes.push('No signed int8 tensors (they need NNAPI 1.3, Android 11): use uint8 I/O or expect CPU fallback.');
  if (level >= 4) notes.push('Signed int8 and per-channel weights are supported.');
  if (level >= 8) notes.push('NNAPI is deprecated from Android 15: prefer the GPU delegate or a vendor delegate.');
  return { featureLevel: level, version, notes };
}

function prop(p: Record<string, string>, ...keys: string[]): string | null {
  for (const k of keys) {
    const v = p[k]?.trim();
    if (v) return v;
  }
  return null;
}

export function factsFromProperties(p: Record<string, string>): DeviceFacts {
  const sdkText = prop(p, 'ro.build.version.sdk');
  const sdk = sdkText !== null && /^\d+$/.test(sdkText) ? Number(sdkText) : null;
  const abiList = prop(p, 'ro.product.cpu.abilist');
  const abi = prop(p, 'ro.product.cpu.abi');
  return {
    model: prop(p, 'ro.product.model', 'ro.product.vendor.model'),
    manufacturer: prop(p, 'ro.product.manufacturer', 'ro.product.vendor.manufacturer'),
    brand: prop(p, 'ro.product.brand'),
    device: prop(p, 'ro.product.device', 'ro.product.name'),
    soc: prop(p, 'ro.soc.model'),
    socManufacturer: prop(p, 'ro.soc.manufacturer'),
    platform: prop(p, 'ro.board.platform'),
    board: prop(p, 'ro.product.board'),
    hardware: prop(p, 'ro.hardware'),
    abi,
    abis: abiList ? abiList.split(',').map((s) => s.trim()).filter(Boolean) : abi ? [abi] : [],
    androidVersion: prop(p, 'ro.build.version.release'),
    sdk,
    nnapi: nnapiForSdk(sdk),
    fingerprint: prop(p, 'ro.build.fingerprint'),
    tool: null,
  };
}

export type DeviceStatus = 'device' | 'offline' | 'unauthorized' | 'unknown';

/** The four states the contract's events know, from whatever adb printed. */
export function statusOf(state: string): DeviceStatus {
  if (state === 'device' || state === 'emulator') return 'device';
  if (state === 'offline') return 'offline';
  if (state === 'unauthorized' || state === 'authorizing') return 'unauthorized';
  return 'unknown';
}

/** One line saying what to do, for every state that is not ready; null for a ready device. */
export function stateHint(state: string, serial = ''): string | null {
  const tcp = /:\d+$/.test(serial);
  switch (state) {
    case 'device':
    case 'emulator':
      return null;
    case 'unauthorized':
      return 'Unlock the phone and allow USB debugging (tap Allow on the "Allow USB debugging?" prompt; tick "Always allow from this computer").';
    case 'authorizing':
      return 'Waiting for the phone to answer the authorization request: unlock it and look for the "Allow USB debugging?" prompt.';
    case 'offline':
      return tcp
        ? 'adb lost the network link to this device: check that it is on and reachable, or reconnect it (`adb connect HOST:PORT`).'
        : 'The phone is connected but not answering: unplug and replug the cable, or revoke and re-allow USB debugging in Developer options.';
    case 'no permissions':
      return 'This user may not open the USB device: add a udev rule for the phone (Android "Run apps on a hardware device" guide) and replug it.';
    case 'connecting':
      return 'adb is still connecting to this device: wait a moment.';
    case 'bootloader':
    case 'fastboot':
      return 'The phone is in the bootloader: reboot it into Android.';
    case 'recovery':
    case 'rescue':
    case 'sideload':
      return `The phone is in ${state} mode: reboot it into Android.`;
    case 'host':
      return 'This is another adb host, not a phone.';
    default:
      return `adb reports the state '${state}': reconnect the phone; if it stays, restart the adb server.`;
  }
}

export function transportOf(serial: string): 'usb' | 'tcp' | 'emulator' {
  if (/^emulator-\d+$/.test(serial)) return 'emulator';
  if (/:\d+$/.test(serial) || /^adb-.*\._adb-tls-connect\._tcp/.test(serial)) return 'tcp';
  return 'usb';
}
