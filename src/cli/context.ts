import { checkWorkspaceDir, defaultWorkspaceDir, ensureWorkspaceDir } from '../main/services/workspace';

export interface GlobalOptions {
  workspace?: string;
  json?: boolean;
  debug?: boolean;
}

/** What every verb gets: how to print, and the workspace (checked, never created unless asked). */
export class CliContext {
  readonly json: boolean;
  readonly debug: boolean;
  /** Set by a verb when it finishes without throwing (e.g. doctor: 1 when something required is missing). */
  exitCode = 0;
  private readonly workspaceArg: string;

  constructor(
    options: GlobalOptions,
    private readonly out: (text: string) => void,
    private readonly err: (text: string) => void,
  ) {
    this.json = Boolean(options.json);
    this.debug = Boolean(options.debug);
    this.workspaceArg = options.workspace ?? defaultWorkspaceDir();
  }

  /** The workspace path, checked but not created (read-only verbs). */
  workspacePath(): string {
    return checkWorkspaceDir(this.workspaceArg);
  }

  /** The workspace path, created when missing (verbs that write). */
  workspaceForWriting(): string {
    return ensureWorkspaceDir(this.workspaceArg);
  }

  /** Machine-readable result: exactly one JSON document on stdout. */
  printJson(value: unknown): void {
    this.out(JSON.stringify(value, null, 2) + '\n');
  }

  print(line = ''): void {
    this.out(line + '\n');
  }

  warn(line: string): void {
    this.err(line + '\n');
  }
}
