/**
 * Reads the text TFLite's `benchmark_model` prints into structured records. The wording moved
 * between TFLite versions (prefixes `INFO: `, two forms of the delegation line, percentiles or not,
 * the old "Average inference timings" line, op-profiling tables with or without a `[mem KB]`
 * column), so every field is looked for on its own and a field that is absent is `null`, never a
 * guess. The raw log is kept beside the parse by the caller.
 *
 * Units: latencies in microseconds (the tool's own unit), profile times in milliseconds (the
 * tables' unit), memory in MB (the tool's unit).
 */

export interface StatLine {
  count: number;
  firstUs: number | null;
  currUs: number | null;
  minUs: number | null;
  maxUs: number | null;
  avgUs: number | null;
  stdUs: number | null;
  p5Us: number | null;
  medianUs: number | null;
  p95Us: number | null;
}

export interface BenchLatency {
  initUs: number | null;
  firstUs: number | null;
  warmupAvgUs: number | null;
  avgUs: number | null;
  stdUs: number | null;
  minUs: number | null;
  maxUs: number | null;
  /** Timed runs. */
  count: number | null;
  p5Us: number | null;
  medianUs: number | null;
  p95Us: number | null;
  /** The warm-up phase's own statistics line, when printed. */
  warmup: StatLine | null;
}

export interface BenchMemory {
  initMb: number | null;
  overallMb: number | null;
  peakMb: number | null;
}

export interface DelegationLine {
  delegate: string;
  nodesDelegated: number;
  /** Only the newer line form says how many nodes there were. */
  nodesTotal: number | null;
  partitions: number;
  form: 'old' | 'new';
}

export interface BenchDelegation {
  /** The delegate the summary is about (the requested one when it printed a line, else the last line's). */
  delegate: string | null;
  nodesDelegated: number | null;
  nodesTotal: number | null;
  partitions: number | null;
  /** Every delegation line, in log order (a run can print several, e.g. XNNPACK by default then GPU). */
  lines: DelegationLine[];
  staticShapeWarning: boolean;
  /** The tool said the delegate was requested but the graph will not run on it. */
  delegateNotApplied: boolean;
  /** "completely" / "partially" from "the model graph will be … executed by the delegate". */
  coverage: 'complete' | 'partial' | 'none' | null;
}

export interface OpProfileRow {
  nodeType: string;
  /** The node's name as printed, without the brackets and index (`sequential/dense/MatMul`). */
  name: string;
  /** The node index after `]:`, when printed. */
  nodeIndex: number | null;
  startMs: number | null;
  firstMs: number | null;
  avgMs: number | null;
  percent: number | null;
  cdfPercent: number | null;
  memKb: number | null;
  timesCalled: number | null;
}

export interface NodeTypeRow {
  nodeType: string;
  count: number | null;
  avgMs: number | null;
  percent: number | null;
  cdfPercent: number | null;
  memKb: number | null;
  timesCalled: number | null;
}

export interface OpProfile {
  /** "Run Order" table of the regular runs. */
  runOrder: OpProfileRow[];
  /** "Summary by node type" table of the regular runs. */
  byNodeType: NodeTypeRow[];
  nodesExecuted: number | null;
  /** Initialization profile (AllocateTensors, ModifyGraphWithDelegate), when printed. */
  init: OpProfileRow[];
}

export interface ToolFacts {
  /** From "NNAPI accelerators available: [...]" or the "Must be one of: {...}" error. */
  nnapiAccelerators: string[] | null;
  nnapiDelegateCreated: boolean;
  gpuDelegateCreated: boolean;
  /** 'OpenCL' or 'OpenGL' when the GPU delegate said which API it initialized. */
  gpuApi: string | null;
  gpuKernels: number | null;
  xnnpackDelegateCreated: boolean;
  /** The TFLite version when the tool printed it. */
  tfliteVersion: string | null;
}

export interface BenchmarkParse {
  latency: BenchLatency;
  memory: BenchMemory;
  delegation: BenchDelegation;
  profile: OpProfile | null;
  tool: ToolFacts;
  /** ERROR lines and failure sentences, in order. */
  errors: string[];
  /** Warnings worth showing (the static-shape one among them). */
  warnings: string[];
  /** True when the log holds the timings of a finished benchmark. */
  complete: boolean;
}

export const STATIC_SHAPE_WARNING = 'Attempting to use a delegate that only supports static-sized tensors with a graph that has dynamic-sized tensors';

const PREFIX = /^(?:(?:INFO|WARNING|ERROR|VERBOSE|DEBUG):\s|[IWEV]\s?tflite\s*:\s*)/;

/** Strips the log-level prefix some builds put on every line. */
export function stripPrefix(line: string): string {
  return line.replace(/\r$/, '').replace(PREFIX, '');
}

function num(s: string | undefined): number | null {
  if (s === undefined) return null;
  const v = Number(s.replace(/%$/, ''));
  return Number.isFinite(v) ? v : null;
}

const STAT_LINE = /^count=(\d+)((?:\s+\w+=[-\d.e+]+)*)\s*$/;

export function parseStatLine(line: string): StatLine | null {
  const m = STAT_LINE.exec(line.trim());
  if (!m) return null;
  const fields = new Map<string, string>();
  for (const kv of m[2].trim().split(/\s+/).filter(Boolean)) {
    const eq = kv.indexOf('=');
    fields.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return {
    count: Number(m[1]),
    firstUs: num(fields.get('first')),
    currUs: num(fields.get('curr')),
    minUs: num(fields.get('min')),
    maxUs: num(fields.get('max')),
    avgUs: num(fields.get('avg')),
    stdUs: num(fields.get('std')),
    p5Us: num(fields.get('p5')),
    medianUs: num(fields.get('median') ?? fields.get('p50')),
    p95Us: num(fields.get('p95')),
  };
}

const DELEGATION_NEW = /Replacing (\d+) out of (\d+) node\(s\) with delegate \(([^)]+)\) node, yielding (\d+) partition/;
const DELEGATION_OLD = /Replacing (\d+) node\(s\) with delegate \(([^)]+)\) node, yielding (\d+) partition/;

export function parseDelegationLine(line: string): DelegationLine | null {
  const n = DELEGATION_NEW.exec(line);
  if (n) return { delegate: n[3], nodesDelegated: Number(n[1]), nodesTotal: Number(n[2]), partitions: Number(n[4]), form: 'new' };
  const o = DELEGATION_OLD.exec(line);
  if (o) return { delegate: o[2], nodesDelegated: Number(o[1]), nodesTotal: null, partitions: Number(o[3]), form: 'old' };
  return null;
}

/** The delegate names each requested delegate prints. */
export const DELEGATE_NAMES: Record<string, RegExp> = {
  xnnpack: /xnnpack/i,
  gpu: /gpu/i,
  nnapi: /nnapi/i,
  cpu: /^$/,
};

function splitRow(line: string): string[] {
  const cells = line.split('\t').map((c) => c.trim());
  if (cells.length && cells[0] === '') cells.shift();
  return cells;
}

function headerColumns(line: string): string[] | null {
  const cells = splitRow(line);
  if (cells.length < 3 || !cells.every((c) => /^\[.*\]$/.test(c))) return null;
  return cells.map((c) => c.slice(1, -1).toLowerCase().replace(/\s+/g, ' ').trim());
}

function parseName(raw: string): { name: string; nodeIndex: number | null } {
  const m = /^\[(.*)\]:(\d+)$/.exec(raw);
  if (m) return { name: m[1], nodeIndex: Number(m[2]) };
  return { name: raw, nodeIndex: null };
}

function opRow(cols: string[], cells: string[]): OpProfileRow | null {
  const get = (name: string) => {
    const i = cols.indexOf(name);
    return i >= 0 ? cells[i] : undefined;
  };
  const type = get('node type');
  if (!type) return null;
  const { name, nodeIndex } = parseName(get('name') ?? '');
  return {
    nodeType: type,
    name,
    nodeIndex,
    startMs: num(get('start')),
    firstMs: num(get('first')),
    avgMs: num(get('avg ms')),
    percent: num(get('%')),
    cdfPercent: num(get('cdf%')),
    memKb: num(get('mem kb')),
    timesCalled: num(get('times called')),
  };
}

function typeRow(cols: string[], cells: string[]): NodeTypeRow | null {
  const get = (name: string) => {
    const i = cols.indexOf(name);
    return i >= 0 ? cells[i] : undefined;
  };
  const type = get('node type');
  if (!type) return null;
  return {
    nodeType: type,
    count: num(get('count')),
    avgMs: num(get('avg ms')),
    percent: num(get('avg %')),
    cdfPercent: num(get('cdf %')),
    memKb: num(get('mem kb')),
    timesCalled: num(get('times called')),
  };
}

/** Parses the op-profiling sections; null when the log has none. */
export function parseOpProfile(lines: string[]): OpProfile | null {
  let section: 'init' | 'regular' | null = null;
  let table: 'run-order' | 'top' | 'by-type' | 'other' | null = null;
  let cols: string[] | null = null;
  const profile: OpProfile = { runOrder: [], byNodeType: [], nodesExecuted: null, init: [] };
  let seen = false;
  for (const raw of lines) {
    const line = stripPrefix(raw);
    const t = line.trim();
    if (/^Profiling Info for Benchmark Initialization/i.test(t)) {
      section = 'init';
      table = null;
      seen = true;
      continue;
    }
    if (/^Operator-wise Profiling Info for Regular Benchmark Runs/i.test(t)) {
      section = 'regular';
      table = null;
      seen = true;
      continue;
    }
    if (!section) continue;
    const heading = /^=+\s*(.*?)\s*=+$/.exec(t);
    if (heading) {
      const h = heading[1].toLowerCase();
      table = h.startsWith('run order') ? 'run-order' : h.startsWith('top by computation') ? 'top' : h.startsWith('summary by node type') ? 'by-type' : 'other';
      cols = null;
      continue;
    }
    const nodes = /^Number of nodes executed:\s*(\d+)/.exec(t);
    if (nodes) {
      if (section === 'regular') profile.nodesExecuted = Number(nodes[1]);
      continue;
    }
    if (!table || t === '') continue;
    if (/^(Timings \(microseconds\)|Memory \(bytes\)|\d+ nodes observed)/.test(t)) {
      table = null;
      continue;
    }
    const header = headerColumns(line);
    if (header) {
      cols = header;
      continue;
    }
    if (!cols || !line.includes('\t')) continue;
    const cells = splitRow(line);
    if (table === 'run-order') {
      const row = opRow(cols, cells);
      if (row) (section === 'init' ? profile.init : profile.runOrder).push(row);
    } else if (table === 'by-type' && section === 'regular') {
      const row = typeRow(cols, cells);
      if (row) profile.byNodeType.push(row);
    }
  }
  return seen ? profile : null;
}

function parseToolFacts(lines: string[]): ToolFacts {
  const facts: ToolFacts = {
    nnapiAccelerators: null,
    nnapiDelegateCreated: false,
    gpuDelegateCreated: false,
    gpuApi: null,
    gpuKernels: null,
    xnnpackDelegateCreated: false,
    tfliteVersion: null,
  };
  for (const line of lines) {
    let m = /NNAPI accelerators available:\s*\[([^\]]*)\]/i.exec(line);
    if (m) facts.nnapiAccelerators = m[1].split(',').map((s) => s.trim()).filter(Boolean);
    m = /Must be one of:\s*\{([^}]*)\}/.exec(line);
    if (m) facts.nnapiAccelerators = m[1].split(',').map((s) => s.trim()).filter(Boolean);
    if (/Created TensorFlow Lite delegate for NNAPI|NNAPI delegate created/i.test(line)) facts.nnapiDelegateCreated = true;
    if (/Created TensorFlow Lite delegate for GPU|GPU delegate created/i.test(line)) facts.gpuDelegateCreated = true;
    if (/XNNPACK delegate for CPU|XNNPACK delegate created/i.test(line)) facts.xnnpackDelegateCreated = true;
    m = /Initialized (OpenCL|OpenGL|Vulkan|Metal)-based API/i.exec(line);
    if (m) facts.gpuApi = m[1];
    m = /Created (\d+) GPU delegate kernels/.exec(line);
    if (m) facts.gpuKernels = Number(m[1]);
    m = /TensorFlow Lite (?:version|runtime version)[:\s]+\[?v?([\d.]+[\w.-]*)/i.exec(line);
    if (m) facts.tfliteVersion = m[1];
  }
  return facts;
}

/**
 * Parses one benchmark log. `requested` is the delegate QuantLab asked for ('cpu', 'xnnpack',
 * 'gpu', 'nnapi'), used to pick the delegation line that is about it.
 */
export function parseBenchmarkLog(text: string, requested?: string): BenchmarkParse {
  const rawLines = text.split('\n');
  const lines = rawLines.map(stripPrefix);
  const latency: BenchLatency = {
    initUs: null,
    firstUs: null,
    warmupAvgUs: null,
    avgUs: null,
    stdUs: null,
    minUs: null,
    maxUs: null,
    count: null,
    p5Us: null,
    medianUs: null,
    p95Us: null,
    warmup: null,
  };
  const memory: BenchMemory = { initMb: null, overallMb: null, peakMb: null };
  const delegationLines: DelegationLine[] = [];
  const errors: string[] = [];
  const warnings: string[] = [];
  const stats: StatLine[] = [];
  let staticShapeWarning = false;
  let delegateNotApplied = false;
  let coverage: BenchDelegation['coverage'] = null;
  let sawTimings = false;
  let inProfile = false;

  lines.forEach((line, i) => {
    const raw = rawLines[i];
    const t = line.trim();
    if (/^(Profiling Info for Benchmark Initialization|Operator-wise Profiling Info)/i.test(t)) inProfile = true;
    if (!inProfile) {
      const stat = parseStatLine(t);
      if (stat) stats.push(stat);
    }
    let m = /inference timings in us:(.*)$/i.exec(t);
    if (m) {
      sawTimings = true;
      const body = m[1];
      const field = (re: RegExp) => {
        const f = re.exec(body);
        return f ? num(f[1]) : null;
      };
      latency.initUs = field(/Init:\s*([-\d.e+]+)/);
      latency.firstUs = field(/First inference:\s*([-\d.e+]+)/);
      latency.warmupAvgUs = field(/Warmup(?: \(avg\))?:\s*([-\d.e+]+)/);
      latency.avgUs = field(/(?:Inference \(avg\)|no stats):\s*([-\d.e+]+)/);
    }
    m = /(?:Memory footprint delta from the start of the tool|Peak memory footprint) \(MB\):\s*init=([-\d.e+]+)\s+overall=([-\d.e+]+)/.exec(t);
    if (m) {
      memory.initMb = num(m[1]);
      memory.overallMb = num(m[2]);
    }
    m = /Overall peak memory footprint \(MB\) via periodic monitoring:\s*([-\d.e+]+)/.exec(t);
    if (m) memory.peakMb = num(m[1]);
    const d = parseDelegationLine(t);
    if (d) delegationLines.push(d);
    if (t.includes(STATIC_SHAPE_WARNING)) {
      staticShapeWarning = true;
      warnings.push(t);
    }
    if (/will not be executed by the delegate/.test(t)) {
      delegateNotApplied = true;
      coverage = 'none';
    } else if (/graph will be completely executed by the delegate/.test(t)) coverage = 'complete';
    else if (/graph will be partially executed by the delegate/.test(t)) coverage = 'partial';
    if (/^ERROR:/.test(raw.trim()) || /^E tflite/.test(raw.trim())) {
      if (!t.includes(STATIC_SHAPE_WARNING)) errors.push(t);
    } else if (/^(Benchmarking failed|Failed to |Aborted|Segmentation fault|CANNOT LINK EXECUTABLE|Unknown flag|Usage: )/i.test(t)) {
      errors.push(t);
    } else if (/^WARNING:/.test(raw.trim())) warnings.push(t);
    if (/Failed to apply .* delegate/i.test(t)) delegateNotApplied = true;
  });

  const regular = stats.length ? stats[stats.length - 1] : null;
  const warmup = stats.length >= 2 ? stats[stats.length - 2] : null;
  if (regular) {
    latency.count = regular.count;
    latency.avgUs ??= regular.avgUs;
    latency.stdUs = regular.stdUs;
    latency.minUs = regular.minUs;
    latency.maxUs = regular.maxUs;
    latency.p5Us = regular.p5Us;
    latency.medianUs = regular.medianUs;
    latency.p95Us = regular.p95Us;
  }
  if (warmup) {
    latency.warmup = warmup;
    latency.warmupAvgUs ??= warmup.avgUs;
    latency.firstUs ??= warmup.firstUs;
  }

  const want = requested ? DELEGATE_NAMES[requested] : undefined;
  const mine = want ? delegationLines.filter((l) => want.test(l.delegate)) : [];
  const chosen = mine.length ? mine[mine.length - 1] : requested === 'cpu' ? null : delegationLines[delegationLines.length - 1] ?? null;
  const delegation: BenchDelegation = {
    delegate: chosen?.delegate ?? null,
    nodesDelegated: chosen ? chosen.nodesDelegated : null,
    nodesTotal: chosen?.nodesTotal ?? null,
    partitions: chosen ? chosen.partitions : null,
    lines: delegationLines,
    staticShapeWarning,
    delegateNotApplied,
    coverage,
  };
  if ((staticShapeWarning || delegateNotApplied) && !chosen) {
    delegation.nodesDelegated = 0;
    delegation.partitions = 0;
  }

  return {
    latency,
    memory,
    delegation,
    profile: parseOpProfile(rawLines),
    tool: parseToolFacts(lines),
    errors,
    warnings,
    complete: sawTimings || regular !== null,
  };
}
