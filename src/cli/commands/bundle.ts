import type { Command } from 'commander';
import { createServices } from '../../main/services';
import { appVersion } from '../../main/services/app-version';
import { exportBundle, importBundle } from '../../main/store/bundle';
import type { CliContext } from '../context';

export function registerBundle(program: Command, context: () => CliContext): void {
  program
    .command('export')
    .description('write experiments (rows, models, artifacts) to a bundle.zip for another machine')
    .argument('<ids...>', 'experiment ids (or unique prefixes)')
    .requiredOption('--out <file>', 'bundle file to write')
    .action(async (ids: string[], opts: { out: string }) => {
      const ctx = context();
      const services = createServices({ workspaceDir: ctx.workspaceForWriting(), transport: 'web' });
      try {
        const r = exportBundle(services.store(), ids, opts.out, appVersion());
        if (ctx.json) ctx.printJson(r);
        else ctx.print(`Wrote ${r.file}: ${r.experiments} experiment(s), ${r.artifacts} artifact(s), ${r.sizeBytes} bytes.`);
      } finally {
        await services.close();
      }
    });
  program
    .command('import')
    .description('add the experiments of a bundle.zip to the workspace (every hash checked first)')
    .argument('<bundle>', 'bundle file')
    .action(async (file: string) => {
      const ctx = context();
      const services = createServices({ workspaceDir: ctx.workspaceForWriting(), transport: 'web' });
      try {
        const r = importBundle(services.store(), file);
        if (ctx.json) ctx.printJson(r);
        else {
          ctx.print(`Imported ${r.imported.length} experiment(s)${r.imported.length ? ': ' + r.imported.join(', ') : ''}.`);
          if (r.skipped.length) ctx.print(`Already present, left as they were: ${r.skipped.join(', ')}.`);
        }
      } finally {
        await services.close();
      }
    });
}
