import { defineStore } from 'pinia';
import { computed, reactive, ref } from 'vue';
import type { DeviceChanged, JobProgress } from '../../shared/api/contract';
import { getBridge } from '../bridge/install';
import { isWebBridge, type ConnectionState } from '../bridge/web-bridge';
import { useApi } from '../composables/useApi';

/** Finished jobs kept for the activity indicator; older ones are dropped (the store has them all). */
const MAX_FINISHED_JOBS = 50;

const ACTIVE_STATES: ReadonlySet<JobProgress['state']> = new Set(['queued', 'running']);

export function deviceKey(device: Pick<DeviceChanged, 'server' | 'serial'>): string {
  return `${device.server}/${device.serial}`;
}

/**
 * The live feed: the latest `job.progress` per job and the latest `device.changed` per device,
 * plus the state of the event connection (always 'open' in Electron, where IPC cannot drop).
 */
export const useEventsStore = defineStore('events', () => {
  const api = useApi();
  const bridge = getBridge();

  const jobs = reactive(new Map<string, JobProgress>());
  const devices = reactive(new Map<string, DeviceChanged>());
  const connection = ref<ConnectionState>(isWebBridge(bridge) ? bridge.connection : 'open');

  function onJobProgress(progress: JobProgress): void {
    // Re-insert so the map stays ordered by last update.
    jobs.delete(progress.jobId);
    jobs.set(progress.jobId, progress);
    const finished = [...jobs.values()].filter((j) => !ACTIVE_STATES.has(j.state));
    for (const job of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED_JOBS))) jobs.delete(job.jobId);
  }

  function onDeviceChanged(change: DeviceChanged): void {
    devices.set(deviceKey(change), change);
  }

  const stops = [
    api.on('job.progress', onJobProgress),
    api.on('device.changed', onDeviceChanged),
    ...(isWebBridge(bridge)
      ? [
          bridge.onConnectionChange((state) => {
            connection.value = state;
          }),
        ]
      : []),
  ];
  if (isWebBridge(bridge)) connection.value = bridge.connection;

  /** Jobs queued or running, most recently updated last. */
  const activeJobs = computed(() => [...jobs.values()].filter((j) => ACTIVE_STATES.has(j.state)));
  /** Devices last seen attached (in any adb state but gone). */
  const attachedDevices = computed(() => [...devices.values()].filter((d) => d.change !== 'removed' && d.state !== 'gone'));

  function stop(): void {
    for (const unsubscribe of stops.splice(0)) unsubscribe();
  }

  return { jobs, devices, connection, activeJobs, attachedDevices, onJobProgress, onDeviceChanged, stop };
});
