/**
 * The one way QuantLab puts a value into a command line for the phone's shell (mksh/toybox `sh`
 * behind adb's `shell:` and `exec:` services). Every path, model name, accelerator name and extra
 * flag goes through `shellQuote`; nothing else builds device command lines from user strings.
 *
 * POSIX single quotes take every byte literally except the single quote itself, which is written
 * as `'\''` (close, escaped quote, reopen). A NUL byte cannot be carried at all (adb's service
 * string is NUL-terminated), so it is refused with a sentence instead of being silently cut.
 */
import { UserError } from '../../core/errors';

/** Words that mean the same to the shell quoted or not: left bare so logs stay readable. */
const BARE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shellQuote(value: string): string {
  if (value.includes('\0')) {
    throw new UserError('bad-argument', `The value '${value.replace(/\0/g, '\\0').slice(0, 120)}' contains a NUL byte, which cannot be passed to the device's shell.`);
  }
  if (BARE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A command line from an argument vector, every element quoted. */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('shellCommand needs at least the program.');
  return argv.map(shellQuote).join(' ');
}

/**
 * Splits a free-form flag string typed by the user (`--extra-flags "--use_fp16=true --x='a b'"`)
 * into words on the host, with the usual quote rules, so that each word can be quoted again for the
 * device. Nothing here is ever evaluated: `$`, backquotes and globbing characters stay literal.
 */
export function splitUserFlags(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && (text[i + 1] === '"' || text[i + 1] === '\\')) current += text[++i];
      else current += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw new UserError('bad-argument', `The extra flags '${text.slice(0, 200)}' have an unclosed ${quote === '"' ? 'double' : 'single'} quote.`);
  if (inWord) words.push(current);
  return words;
}
