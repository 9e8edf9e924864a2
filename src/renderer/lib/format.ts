/**
 * How numbers, sizes, times and durations read in the UI. Display only: the value itself always
 * comes from the store unchanged, and views put the exact value in a `title` (and `data-value`)
 * beside the rounded text.
 */

const grouping = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Decimals that keep about four significant digits, without dropping integer digits. */
export function decimalsFor(value: number): number {
  const abs = Math.abs(value);
  if (abs === 0 || abs >= 1000) return 0;
  if (abs >= 100) return 1;
  if (abs >= 10) return 2;
  if (abs >= 1) return 3;
  // Small values: four significant digits (0.001234), at most 8 decimals.
  return Math.min(8, 3 - Math.floor(Math.log10(abs)));
}

export function formatNumber(value: number, decimals = decimalsFor(value)): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000 && decimals === 0) return grouping.format(value);
  return value.toFixed(decimals);
}

/** A metric's value with its unit: percentages with two decimals, the rest to about four digits. */
export function formatMetric(value: number, unit: string): string {
  const text = unit === '%' ? formatNumber(value, 2) : formatNumber(value);
  return unit ? `${text} ${unit}` : text;
}

export function formatBytes(sizeBytes: number): string {
  if (sizeBytes < 1024) return `${sizeBytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = sizeBytes / 1024;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i += 1;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[i]}`;
}

/** "850 ms", "1.4 s", "12 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 9_950) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 60) return `${totalSeconds} s`;
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  if (minutes < 60) return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Local date and time to the minute, "2026-11-26 11:20", for dense tables. */
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Local date and time to the second, with the time zone offset, for traceability. */
export function formatDateTimeLong(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const offsetMin = -d.getTimezoneOffset();
  const sign = offsetMin >= 0 ? '+' : '−';
  const offset = `UTC${sign}${pad(Math.floor(Math.abs(offsetMin) / 60))}:${pad(Math.abs(offsetMin) % 60)}`;
  return `${formatDateTime(iso)}:${pad(d.getSeconds())} ${offset}`;
}

/** The first characters of a hash, enough to tell artifacts apart at a glance. */
export function shortHash(sha256: string, length = 12): string {
  return sha256.slice(0, length);
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${grouping.format(count)} ${count === 1 ? one : many}`;
}
