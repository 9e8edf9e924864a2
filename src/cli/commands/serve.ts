import { spawn } from 'node:child_process';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { createServices } from '../../main/services';
import { projectRoot } from '../../main/services/app-version';
import { startServer } from '../../main/server';
import type { CliContext } from '../context';

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`'${value}' is not a port number (0–65535; 0 picks a free one).`);
  return n;
}

export function registerServe(program: Command, context: () => CliContext): void {
  program
    .command('serve')
    .description('serve the QuantLab UI to a browser on this machine (loopback only, token-protected)')
    .option('--port <n>', 'port to listen on (0 = any free port)', parsePort, 0)
    .option('--host <addr>', 'loopback address to bind: 127.0.0.1, localhost or ::1', '127.0.0.1')
    .option('--open', 'open the UI in the default browser')
    .option('--no-open', 'do not open a browser (default)')
    .action(async (opts: { port: number; host: string; open?: boolean }) => {
      const ctx = context();
      const workspaceDir = ctx.workspaceForWriting();
      const services = createServices({ workspaceDir, transport: 'web', log: (line) => ctx.warn(line) });
      const server = await startServer({
        services,
        staticDir: path.join(projectRoot(), 'out', 'renderer'),
        host: opts.host,
        port: opts.port,
      });
      if (ctx.json) {
        process.stdout.write(JSON.stringify({ url: server.url, port: server.port, token: server.token, workspaceDir }) + '\n');
      } else {
        ctx.print(`QuantLab is serving ${workspaceDir}`);
        ctx.print(`Open ${server.url}  (Ctrl+C to stop)`);
      }
      if (opts.open) openInBrowser(server.url);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
      await services.close();
    });
}

function openInBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => {});
  child.unref();
}
