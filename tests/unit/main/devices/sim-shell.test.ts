/**
 * The simulated phone's shell (tests/fixtures/sim-device/shell.ts) is the device side of the
 * quoting tests: it must read QuantLab's quoting exactly as a POSIX shell does, and refuse
 * anything it would evaluate.
 */
import { describe, expect, it } from 'vitest';
import { shellCommand, shellQuote } from '../../../../src/main/devices/quote';
import { withRcMarker, parseRcMarker } from '../../../../src/main/devices/adb';
import { DEFAULT_SCENARIO } from '../../../fixtures/sim-device/benchmark';
import { SimShell, simBenchmarkBinary, tokenize, type ShellState } from '../../../fixtures/sim-device/shell';
import { Vfs } from '../../../fixtures/sim-device/vfs';

function state(): ShellState {
  return {
    vfs: new Vfs(),
    props: { 'ro.product.model': 'SimPhone 7', 'ro.build.version.sdk': '34' },
    scenario: { ...DEFAULT_SCENARIO, durationMs: 0 },
    hasSha256sum: true,
    execs: [],
    unsafe: [],
    benchmarks: [],
    hooks: {},
    hang: null,
  };
}

async function run(s: ShellState, line: string): Promise<{ out: string; code: number }> {
  let out = '';
  const code = await new SimShell(s).run(line, { write: (t) => (out += t.toString()), signal: new AbortController().signal });
  return { out, code };
}

const HOSTILE = ["it's", '$(id)', '`id`', '; rm -rf /', 'a && b', 'x | y', '> /sdcard/pwn', '*', '~', '{a,b}', '"q"', '\\', 'a\nb', '$HOME', "'\\''", '', ' ', 'é 漢字'];

describe('simulated shell', () => {
  it('tokenizes quotes, escapes, expansions and redirections like sh', () => {
    expect(tokenize(`echo 'a b' "c $X" d\\ e 2>&1 >/dev/null`, { X: 'x' })).toEqual([
      { kind: 'word', value: 'echo' },
      { kind: 'word', value: 'a b' },
      { kind: 'word', value: 'c x' },
      { kind: 'word', value: 'd e' },
      { kind: 'redir', fd: 2, append: false, target: { dup: 1 } },
      { kind: 'redir', fd: 1, append: false, target: '/dev/null' },
    ]);
    expect(tokenize('a; b && c || d', {}).filter((t) => t.kind === 'op').map((t) => (t as { value: string }).value)).toEqual([';', '&&', '||']);
  });

  it('receives every hostile string quoted by QuantLab as exactly one argument, evaluating nothing', async () => {
    const s = state();
    for (const h of HOSTILE) {
      s.execs.length = 0;
      const r = await run(s, shellCommand(['echo', h]));
      expect(r.code, JSON.stringify(h)).toBe(0);
      expect(s.execs, JSON.stringify(h)).toEqual([['echo', h]]);
      expect(r.out).toBe(h + '\n');
    }
    expect(s.unsafe).toEqual([]);
  });

  it('refuses unquoted metacharacters and records them', async () => {
    const s = state();
    for (const bad of ['echo $(id)', 'echo `id`', 'ls *', 'a | b', 'sleep 1 &', 'echo ~', 'echo {a,b}', '(echo)']) {
      const r = await run(s, bad);
      expect(r.code, bad).toBe(2);
      expect(r.out).toMatch(/sim refuses/);
    }
    expect(s.unsafe).toHaveLength(8);
    expect(s.execs).toEqual([]);
  });

  it('runs the commands QuantLab uses, with $? and the status marker', async () => {
    const s = state();
    s.vfs.write('/data/local/tmp/f', Buffer.from('hello'));
    expect(parseRcMarker((await run(s, withRcMarker('sha256sum /data/local/tmp/f'))).out)).toEqual({
      output: `${Vfs.sha256(Buffer.from('hello'))}  /data/local/tmp/f\n`,
      exitCode: 0,
    });
    expect(parseRcMarker((await run(s, withRcMarker('ls /nope'))).out)).toEqual({ output: 'ls: /nope: No such file or directory\n', exitCode: 1 });
    expect(parseRcMarker((await run(s, withRcMarker('printf %s abc'))).out)).toEqual({ output: 'abc', exitCode: 0 });
    expect((await run(s, 'getprop ro.product.model')).out).toBe('SimPhone 7\n');
    expect((await run(s, 'getprop')).out).toBe('[ro.build.version.sdk]: [34]\n[ro.product.model]: [SimPhone 7]\n');
    expect((await run(s, `echo abc > ${shellQuote('/data/local/tmp/x y')} && cat '/data/local/tmp/x y'`)).out).toBe('abc\n');
    expect((await run(s, 'false && echo no || echo yes')).out).toBe('yes\n');
    expect((await run(s, 'echo > /system/x')).code).toBe(1);
  });

  it('runs benchmark_model only when it is an executable arm64 build', async () => {
    const s = state();
    s.vfs.write('/data/local/tmp/m.tflite', Buffer.alloc(10));
    expect(await run(s, '/data/local/tmp/bm --graph=/data/local/tmp/m.tflite')).toMatchObject({ code: 127, out: expect.stringContaining('inaccessible or not found') });
    s.vfs.write('/data/local/tmp/bm', simBenchmarkBinary(), 0o644);
    expect(await run(s, '/data/local/tmp/bm')).toMatchObject({ code: 126, out: expect.stringContaining('Permission denied') });
    s.vfs.write('/data/local/tmp/bm', simBenchmarkBinary({ arch: 'x86_64' }), 0o755);
    expect(await run(s, '/data/local/tmp/bm')).toMatchObject({ code: 126, out: expect.stringContaining('not executable: 64-bit ELF file') });
    s.vfs.write('/data/local/tmp/bm', simBenchmarkBinary(), 0o755);
    const r = await run(s, '/data/local/tmp/bm --graph=/data/local/tmp/m.tflite --num_runs=5 --use_xnnpack=true 2>&1');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Inference timings in us');
    expect(s.benchmarks[0]).toMatchObject({ delegate: 'xnnpack', threads: 1, exitCode: 0 });
  });
});
