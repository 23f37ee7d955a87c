/** A mistake in the playbook itself: reported as one line with its file and line, exit code 2. */
export class PlaybookError extends Error {
  /** "file:line" of the playbook code that caused it, when known. */
  readonly origin?: string;
  constructor(message: string, origin?: string) {
    super(origin ? `${origin}: ${message}` : message);
    this.name = 'PlaybookError';
    this.origin = origin;
  }
}
