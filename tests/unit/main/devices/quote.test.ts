import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { shellCommand, shellQuote, splitUserFlags } from '../../../../src/main/devices/quote';

/** Strings that break naive quoting. Payloads only touch a marker file in a private folder. */
function hostile(marker: string): string[] {
  return [
    '',
    ' ',
    'plain',
    "it's",
    "''",
    "'\\''",
    '"double"',
    '$HOME',
    '${HOME}',
    '$(touch ' + marker + ')',
    '`touch ' + marker + '`',
    '; touch ' + marker,
    '&& touch ' + marker,
    '| touch ' + marker,
    '> ' + marker,
    'a\nb\ttouch ' + marker,
    'back\\slash\\',
    '*',
    '?',
    '[a-z]',
    '~',
    '~root',
    '-n',
    '--flag=$(touch ' + marker + ')',
    "x' ; touch " + marker + " ; echo '",
    '"; touch ' + marker + '; echo "',
    '\\',
    '#comment',
    '!!',
    '{a,b}',
    'é ü 漢字 🙂',
    '\u0001\u0002\u007f',
    "'$(touch " + marker + ")'",
  ];
}

describe('shellQuote', () => {
  it('round-trips every hostile string through a real POSIX shell, executing nothing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-quote-'));
    const marker = path.join(dir, 'pwned');
    try {
      for (const s of hostile(marker)) {
        const out = execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(s)}`], { cwd: dir, encoding: 'utf8' });
        expect(out, JSON.stringify(s)).toBe(s);
        expect(fs.existsSync(marker), JSON.stringify(s)).toBe(false);
      }
      // Many at once, as argument vectors.
      const argv = ['printf', '%s\\n', ...hostile(marker).filter((s) => !s.includes('\n'))];
      const out = execFileSync('/bin/sh', ['-c', shellCommand(argv)], { cwd: dir, encoding: 'utf8' });
      expect(out.split('\n').slice(0, -1)).toEqual(argv.slice(2));
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves plain words bare and quotes everything else', () => {
    expect(shellQuote('/data/local/tmp/quantlab/models/ab12.tflite')).toBe('/data/local/tmp/quantlab/models/ab12.tflite');
    expect(shellQuote('--num_threads=4')).toBe('--num_threads=4');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote('$x')).toBe("'$x'");
  });

  it('refuses a NUL byte with a sentence', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL byte/);
  });
});

describe('splitUserFlags', () => {
  it('splits like a shell without evaluating anything', () => {
    expect(splitUserFlags('--use_fp16=true  --max_delegated_partitions=5')).toEqual(['--use_fp16=true', '--max_delegated_partitions=5']);
    expect(splitUserFlags(`--a='x y' --b="q \\"z\\"" --c=$(rm) --d=\`id\``)).toEqual(['--a=x y', '--b=q "z"', '--c=$(rm)', '--d=`id`']);
    expect(splitUserFlags("--e=''")).toEqual(['--e=']);
    expect(splitUserFlags('   ')).toEqual([]);
    expect(() => splitUserFlags("--a='open")).toThrow(/unclosed single quote/);
  });
});
