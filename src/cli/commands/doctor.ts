import type { Command } from 'commander';
import { doctorReport } from '../../main/services/doctor';
import type { CliContext } from '../context';

export function registerDoctor(program: Command, context: () => CliContext): void {
  program
    .command('doctor')
    .description('check Node, Electron, adb, Chromium, TensorFlow.js, SQLite and data, and say what to install')
    .action(async () => {
      const ctx = context();
      ctx.workspacePath();
      const report = await doctorReport();
      if (ctx.json) {
        ctx.printJson(report);
      } else {
        for (const c of report.checks) {
          const mark = c.ok ? 'ok  ' : c.required ? 'FAIL' : 'miss';
          ctx.print(`${mark}  ${c.label.padEnd(30)} ${c.detail}`);
          if (!c.ok && c.fix) ctx.print(`      ${''.padEnd(30)} fix: ${c.fix}`);
        }
        ctx.print(report.ok ? '\nQuantLab has what it needs; optional pieces are listed above.' : '\nQuantLab is missing something it needs (FAIL above).');
      }
      ctx.exitCode = report.ok ? 0 : 1;
    });
}
