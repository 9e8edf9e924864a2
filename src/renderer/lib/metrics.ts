import type { Metric } from '../../shared/api/contract';
import { formatMetric } from './format';

/** The metrics a list row shows as columns, in this order (the detail page shows them all). */
export const HEADLINE_METRICS: readonly { name: string; label: string }[] = [
  { name: 'accuracy', label: 'Accuracy' },
  { name: 'latency', label: 'Latency' },
  { name: 'throughput', label: 'Throughput' },
];

/** An experiment's values of one metric, one per context (float32, int8, a device …), in store order. */
export function metricsNamed(metrics: readonly Metric[], name: string): Metric[] {
  return metrics.filter((m) => m.name === name);
}

/** The exact stored value, for a tooltip: "latency [desktop-float32] = 275.29585350000013 ms". */
export function describeMetric(m: Metric): string {
  return `${m.name}${m.context ? ` [${m.context}]` : ''} = ${m.value}${m.unit ? ` ${m.unit}` : ''}`;
}

export function formatMetricValue(m: Metric): string {
  return formatMetric(m.value, m.unit);
}
