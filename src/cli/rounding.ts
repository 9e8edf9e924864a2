import { InvalidArgumentError } from 'commander';
import type { RoundingMode } from '../core/runtime/kernel';

/** The CLI's names for the three integer rounding behaviours (notes/int8.md). */
export const ROUNDING_NAMES = { double: 'double-rounding', single: 'single-rounding', xnnpack: 'xnnpack' } as const satisfies Record<string, RoundingMode>;

export const ROUNDING_HELP =
  "integer rounding to reproduce: 'double' (TFLite reference kernels, gemmlowp), 'single' (single-rounding builtin kernels) or 'xnnpack' (TFLite's default CPU path: XNNPACK's float32 requantization, round half to even)";

export function parseRounding(value: string): RoundingMode {
  const mode = (ROUNDING_NAMES as Record<string, RoundingMode>)[value];
  if (!mode) throw new InvalidArgumentError(`'${value}' is not a rounding mode (double, single or xnnpack).`);
  return mode;
}
