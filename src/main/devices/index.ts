/**
 * Phones over ADB: the device service (live list, facts), benchmark runs and their parsers.
 * The only room that imports @devicefarmer/adbkit (in adb.ts).
 */
export { AdbServerClient, DeviceError, endpointLabel, type AdbDevice, type ShellResult } from './adb';
export * from './benchmark-parser';
export * from './bench';
export * from './facts';
export * from './predict';
export * from './quote';
export * from './servers';
export * from './service';
