/**
 * Errors a user can cause (a bad file, a bad setting, a missing tool). They carry one sentence
 * a researcher understands, naming the file / tensor / op / value at fault. Anything that is not
 * a UserError is a bug and is reported as such.
 */
export class UserError extends Error {
  /** A stable machine-readable kind, e.g. 'bad-model', 'bad-input', 'unsupported-op'. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
    this.code = code;
  }
}

/** A model file that cannot be read: truncated, corrupted, inconsistent or unsupported. */
export class ModelFormatError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad-model', message, options);
    this.name = 'ModelFormatError';
  }
}

/**
 * A zip archive that cannot be read: truncated, corrupted, encrypted or compressed with a method
 * QuantLab does not read. Format readers built on zip (Keras 3 `.keras`, `.npz`, bundles) turn it
 * into their own error where the archive is one of theirs.
 */
export class ArchiveError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad-archive', message, options);
    this.name = 'ArchiveError';
  }
}

/** The graph asks for something the runtime cannot do (unknown op, bad shapes). */
export class UnsupportedError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unsupported', message, options);
    this.name = 'UnsupportedError';
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
