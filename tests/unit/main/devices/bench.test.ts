import { describe, expect, it } from 'vitest';
import { benchmarkArgv, checkExtraFlags, toolProblem } from '../../../../src/main/devices/bench';
import { parseRcMarker, withRcMarker } from '../../../../src/main/devices/adb';
import { shellCommand } from '../../../../src/main/devices/quote';

const settings = { runs: 50, warmup: 1, profile: false, extraFlags: [] as string[] };

describe('benchmark runs', () => {
  it('builds the flags of each delegate', () => {
    expect(benchmarkArgv('/t/bm', '/t/m.tflite', { delegate: 'cpu', threads: 4 }, settings)).toEqual([
      '/t/bm', '--graph=/t/m.tflite', '--num_threads=4', '--warmup_runs=1', '--num_runs=50', '--use_xnnpack=false',
    ]);
    expect(benchmarkArgv('/t/bm', '/t/m', { delegate: 'xnnpack', threads: 1 }, settings)).toContain('--use_xnnpack=true');
    expect(benchmarkArgv('/t/bm', '/t/m', { delegate: 'gpu', threads: 1 }, { ...settings, profile: true })).toEqual(expect.arrayContaining(['--use_gpu=true', '--enable_op_profiling=true']));
    expect(benchmarkArgv('/t/bm', '/t/m', { delegate: 'nnapi', threads: 1, accelerator: "qti dsp'$(x)" }, { ...settings, extraFlags: ['--use_fp16=true'] }).slice(-3)).toEqual([
      '--use_nnapi=true', "--nnapi_accelerator_name=qti dsp'$(x)", '--use_fp16=true',
    ]);
    // …and the command line quotes the hostile accelerator name.
    expect(shellCommand(benchmarkArgv('/t/bm', '/t/m', { delegate: 'nnapi', threads: 1, accelerator: "a'$(x)" }, settings))).toContain(`'--nnapi_accelerator_name=a'\\''$(x)'`);
  });

  it('accepts only --name[=value] extra flags', () => {
    expect(checkExtraFlags(['--a=1', '--b', '--c=x y $(z)'])).toHaveLength(3);
    for (const bad of ['-a', 'a=1', '--', '--a b', '; rm']) expect(() => checkExtraFlags([bad]), bad).toThrow(/not a benchmark_model flag/);
  });

  it('says why a tool cannot run', () => {
    expect(toolProblem({ output: '/system/bin/sh: /x/bm: inaccessible or not found\n', exitCode: 127 }, '/x/bm')).toMatch(/There is no benchmark_model at '\/x\/bm'/);
    expect(toolProblem({ output: '/system/bin/sh: /x/bm: not executable: 64-bit ELF file\n', exitCode: 126 }, '/x/bm')).toMatch(/cannot run on this phone \(.*64-bit ELF file\)/);
    expect(toolProblem({ output: '/system/bin/sh: /x/bm: can\'t execute: Permission denied\n', exitCode: 126 }, '/x/bm')).toMatch(/cannot run .*not marked executable \(`adb shell chmod 755 \/x\/bm`/);
    expect(toolProblem({ output: 'CANNOT LINK EXECUTABLE "/x/bm": library "libc++_shared.so" not found\n', exitCode: 1 }, '/x/bm')).toMatch(/needs libraries/);
    expect(toolProblem({ output: 'STARTING!\nPlease specify the name of your TF Lite input file with --graph\nBenchmarking failed.\n', exitCode: 1 }, '/x/bm')).toBeNull();
  });

  it('reads the exit status marker back, whatever the output ended with', () => {
    expect(withRcMarker('ls')).toBe('ls; echo __QL_RC=$?');
    expect(parseRcMarker('a\n__QL_RC=0\n')).toEqual({ output: 'a\n', exitCode: 0 });
    expect(parseRcMarker('no newline__QL_RC=127\n')).toEqual({ output: 'no newline', exitCode: 127 });
    expect(parseRcMarker('x __QL_RC=1 y\n__QL_RC=3\n')).toEqual({ output: 'x __QL_RC=1 y\n', exitCode: 3 });
    expect(parseRcMarker('cut short')).toEqual({ output: 'cut short', exitCode: null });
  });
});
