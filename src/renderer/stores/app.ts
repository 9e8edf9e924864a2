import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { AppInfo, DoctorCheck, DoctorReport } from '../../shared/api/contract';
import { useApi } from '../composables/useApi';
import { toErrorInfo, type ErrorInfo } from '../lib/errors';

/** `app.info` and the `doctor.report` checks: who we are, where the workspace is, what this machine has. */
export const useAppStore = defineStore('app', () => {
  const api = useApi();

  const info = ref<AppInfo | null>(null);
  const infoLoading = ref(false);
  const infoError = ref<ErrorInfo | null>(null);

  const doctor = ref<DoctorReport | null>(null);
  const doctorLoading = ref(false);
  const doctorError = ref<ErrorInfo | null>(null);
  const doctorCheckedAt = ref<Date | null>(null);

  let infoRequest: Promise<void> | null = null;
  let doctorRequest: Promise<void> | null = null;

  /** Loads `app.info`; concurrent calls share one request. */
  function loadInfo(): Promise<void> {
    infoRequest ??= (async () => {
      infoLoading.value = true;
      try {
        info.value = await api.invoke('app.info', {});
        infoError.value = null;
      } catch (e) {
        infoError.value = toErrorInfo(e);
      } finally {
        infoLoading.value = false;
        infoRequest = null;
      }
    })();
    return infoRequest;
  }

  /** Runs the doctor's checks (a few seconds: it probes adb, Chromium, TensorFlow.js …). */
  function loadDoctor(): Promise<void> {
    doctorRequest ??= (async () => {
      doctorLoading.value = true;
      try {
        doctor.value = await api.invoke('doctor.report', {});
        doctorError.value = null;
        doctorCheckedAt.value = new Date();
      } catch (e) {
        doctorError.value = toErrorInfo(e);
      } finally {
        doctorLoading.value = false;
        doctorRequest = null;
      }
    })();
    return doctorRequest;
  }

  /** Missing pieces QuantLab's core work needs. */
  const doctorProblems = computed<DoctorCheck[]>(() => doctor.value?.checks.filter((c) => !c.ok && c.required) ?? []);
  /** Missing pieces only some features (phones, PDF reports, the tests) need. */
  const doctorWarnings = computed<DoctorCheck[]>(() => doctor.value?.checks.filter((c) => !c.ok && !c.required) ?? []);

  function doctorCheck(id: DoctorCheck['id']): DoctorCheck | undefined {
    return doctor.value?.checks.find((c) => c.id === id);
  }

  return {
    info,
    infoLoading,
    infoError,
    loadInfo,
    doctor,
    doctorLoading,
    doctorError,
    doctorCheckedAt,
    loadDoctor,
    doctorProblems,
    doctorWarnings,
    doctorCheck,
  };
});
