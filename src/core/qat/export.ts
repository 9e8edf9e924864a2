/**
 * From a trained fake-quant network to the integer model: the trained weights go back into the
 * (BN-folded) float graph, every activation gets the range its group ended training with, and
 * PTQ's own builder (`buildQuantizedGraph`, the plan from `planOps`) makes the int8 graph. The
 * exported ranges are [S(qmin − Z), S(qmax − Z)] of the parameters training used, which the
 * builder's `chooseParams` maps back to exactly S and Z; weights are quantized per channel from
 * their min/max, as the fake-quant forward did. So the integer model computes what training
 * simulated, up to the integer kernels' requantization rounding.
 */
import type { Graph, Model } from '../ir/types';
import { INT8_ACTIVATION, INT8_WEIGHT } from '../quant/params';
import { buildQuantizedGraph } from '../quant/ptq/build';
import { Interpreter } from '../runtime/interpreter';
import type { RoundingMode } from '../runtime/kernel';
import type { QatNetwork } from './network';

export interface ExportedModel {
  model: Model;
  /** The float graph with the trained weights (BN folded), for evaluation and analysis. */
  floatGraph: Graph;
  /** Parameters of every integer activation: tensor name, scale, zero point. */
  tensors: { name: string; scale: number; zeroPoint: number }[];
}

export function exportInt8(net: QatNetwork, source: Model, rounding: RoundingMode = 'xnnpack'): ExportedModel {
  const floatGraph = net.trainedGraph();
  const built = buildQuantizedGraph(floatGraph, net.decisions, net.exportRanges(), {
    act: 'int8',
    grid: INT8_ACTIVATION,
    weightGrid: INT8_WEIGHT,
    perChannel: net.options.perChannel,
    io: 'float',
  });
  // The runtime must accept the result (quantization lint + kernels) before anything uses it.
  Interpreter.prepare(built.graph, { rounding });
  const tensors = [...built.params].map(([t, p]) => ({ name: floatGraph.tensors[t].name, scale: p.scale, zeroPoint: p.zeroPoint }));
  return { model: { ...source, subgraphs: [built.graph], signatures: undefined }, floatGraph, tensors };
}
