import { InventoryError } from '../inventory/errors.js';
import { PlaybookError } from '../playbook/errors.js';
import { RunFailed, UsageError } from '../engine/errors.js';
import { printError } from '../output/index.js';

export type ExitCode = 0 | 1 | 2;

/**
 * The one place that turns an error into what the user sees and an exit code: bad input is one line
 * and 2, a failed run 1, anything else is a bug: 1 with a request to report it.
 */
export function exitCodeFor(error: unknown, verbose: boolean): ExitCode {
  const stack = verbose && error instanceof Error ? error.stack : undefined;
  if (error instanceof UsageError || error instanceof PlaybookError || error instanceof InventoryError) {
    printError(error.message, stack);
    return 2;
  }
  if (error instanceof RunFailed) {
    printError(error.message, stack);
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  printError(`internal error: ${message} (please report this${verbose ? '' : '; run with -v for the stack'})`, stack);
  return 1;
}
