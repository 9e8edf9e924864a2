/**
 * `quantlab`: every UI action as a verb. Exit codes: 0 success, 1 a user error (one line, no
 * stack unless --debug), 2 bad usage (unknown verb or flag, bad flag value).
 */
import { Command, CommanderError } from 'commander';
import { isUserError } from '../core/errors';
import { appVersion } from '../main/services/app-version';
import { CliContext, type GlobalOptions } from './context';
import { registerDoctor } from './commands/doctor';
import { registerServe } from './commands/serve';
import { registerEval } from './commands/eval';
import { registerExperiments } from './commands/experiments';
import { registerBundle } from './commands/bundle';
import { registerDevices } from './commands/devices';
import { registerBench } from './commands/bench';
import { registerInspect } from './commands/inspect';
import { registerRun } from './commands/run';
import { registerConvert } from './commands/convert';
import { registerQuantize } from './commands/quantize';
import { registerDemo } from './commands/demo';
import { registerExplain } from './commands/explain';
import { registerQat } from './commands/qat';
import { registerPreflight } from './commands/preflight';
import { registerAnalyze } from './commands/analyze';
import { registerSensitivity } from './commands/sensitivity';
import { registerSearch } from './commands/search';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

export function buildProgram(io: CliIo): { program: Command; context: () => CliContext } {
  const program = new Command();
  let ctx: CliContext | undefined;
  const context = () => (ctx ??= new CliContext(program.opts<GlobalOptions>(), io.out, io.err));
  program
    .name('quantlab')
    .description('QuantLab: quantize neural networks, see where precision is lost, run bit-exact int8, measure on phones.')
    .version(appVersion(), '-V, --version', 'print the QuantLab version')
    .option('--workspace <dir>', 'workspace folder (default: your per-user QuantLab data folder, or $QUANTLAB_WORKSPACE)')
    .option('--json', 'machine-readable output (one JSON document on stdout)')
    .option('--debug', 'print stack traces for errors')
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => {} })
    .exitOverride();
  registerServe(program, context);
  registerDoctor(program, context);
  registerEval(program, context);
  registerExperiments(program, context);
  registerBundle(program, context);
  registerDevices(program, context);
  registerBench(program, context);
  registerInspect(program, context);
  registerRun(program, context);
  registerConvert(program, context);
  registerQuantize(program, context);
  registerDemo(program, context);
  registerExplain(program, context);
  registerQat(program, context);
  registerPreflight(program, context);
  registerAnalyze(program, context);
  registerSensitivity(program, context);
  registerSearch(program, context);
  const quiet = (cmd: Command) => {
    cmd.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => {} });
    cmd.commands.forEach(quiet);
  };
  program.commands.forEach(quiet);
  return { program, context };
}

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const { program, context } = buildProgram(io);
  const debug = argv.includes('--debug');
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(argv, { from: 'user' });
    return context().exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      io.err(`quantlab: ${e.message.replace(/^error: /, '')}\n`);
      if (e.code === 'commander.unknownCommand' || e.code === 'commander.unknownOption' || e.code === 'commander.excessArguments') {
        io.err(`Run 'quantlab --help' for the verbs and flags.\n`);
      }
      return 2;
    }
    const ctxJson = (() => {
      try {
        return context().json;
      } catch {
        return false;
      }
    })();
    if (isUserError(e)) {
      if (ctxJson) io.out(JSON.stringify({ error: { code: e.code, message: e.message } }) + '\n');
      io.err(`quantlab: ${e.message}\n`);
      if (debug && e.stack) io.err(e.stack + '\n');
      return 1;
    }
    io.err(`quantlab: internal error: ${(e as Error).message ?? String(e)}\n`);
    io.err(debug ? `${(e as Error).stack}\n` : `Run again with --debug for the stack trace, and report it.\n`);
    return 1;
  }
}
