/** The QuantLab runtime: interpreter, memory plan, kernels, timing. */
export { Interpreter, opName, opTypeLabel, selectKernels, topologicalOrder } from './interpreter';
export type { ExecutionStep, InterpreterOptions, OpTiming, RunResult, TensorInfo } from './interpreter';
export { planMemory } from './memory-plan';
export type { Lifetime, MemoryPlan, MemoryPlanRequest, PlanStep, PlanTensor } from './memory-plan';
export type { AnyKernelConfig, KernelConfig, KernelOpType, RoundingMode } from './kernel';
export { defineKernel } from './kernel';
export { ALL_KERNELS } from './kernels/register-all';
export { measureLatency } from './benchmark';
export type { LatencyOptions, LatencyStats } from './benchmark';
