/**
 * Line-per-result output for pipes, logs and CI: nothing is redrawn, so every line printed
 * stays true and the log can be grepped afterwards.
 */
import type { RunListener } from '../engine/events.js';
import { commandLines, dryRunBanner, playLine, taskLines, unreachableLine } from './lines.js';
import { formatRecap } from './recap.js';
import { painter, textLines, writeLines } from './style.js';

export interface PlainOptions {
  verbose: boolean;
  /** Accepted for symmetry with the other views; the engine only attaches a diff when one is wanted. */
  diff: boolean;
  color: boolean;
}

export function plainListener(out: NodeJS.WritableStream, opts: PlainOptions): RunListener {
  const paint = painter(opts.color);
  let wroteSomething = false;
  const write = (lines: string[], blankBefore = false): void => {
    if (lines.length === 0) return;
    writeLines(out, blankBefore && wroteSomething ? ['', ...lines] : lines);
    wroteSomething = true;
  };

  return (event) => {
    switch (event.type) {
      case 'run-start':
        if (event.dryRun) write([dryRunBanner(paint)]);
        break;
      case 'play-start':
        write([playLine(event.play, event.hosts, paint)], true);
        break;
      case 'task':
        write(taskLines(event, paint, opts.verbose));
        break;
      case 'command':
        if (opts.verbose) write(commandLines(event, paint));
        break;
      case 'unreachable':
        write([unreachableLine(event.host, event.message, paint)]);
        break;
      case 'recap':
        write(textLines(formatRecap(event, { color: opts.color })), true);
        break;
      // task-start says nothing a result line will not; progress would flood a log file.
      case 'task-start':
      case 'progress':
      case 'play-end':
        break;
    }
  };
}
