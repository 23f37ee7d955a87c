/**
 * Live view for a TTY: one spinner line per host showing what it is doing now.
 *
 * listr2 cannot add tasks to a list that is already running, and hosts can differ per play,
 * so each play gets its own short-lived Listr, run one after another on a promise chain.
 * Every host line is a task that just awaits a deferred this listener settles when the host
 * finishes the play. Whatever must outlive the redraw (changes, diffs, failures) is kept
 * and printed as plain lines once that play's view has settled.
 */
import { ANSI_ESCAPE_CODES, Listr, ListrLogger, PRESET_TIMER, ProcessOutput, Spinner } from 'listr2';
import type { HostRecap, RunEvent, RunListener } from '../engine/events.js';
import { commandLines, dryRunBanner, playLine, taskLines, unreachableLine, type TaskEvent } from './lines.js';
import { formatRecap } from './recap.js';
import { colorEnabled, flush, painter, textLines, writeLines, type Paint } from './style.js';

export interface LiveOptions {
  verbose: boolean;
  diff: boolean;
  /** Defaults to process.stdout. */
  out?: NodeJS.WritableStream;
  /** Defaults to colorEnabled(out). */
  color?: boolean;
}

export interface LiveOutput {
  listener: RunListener;
  /** Settles every host line, waits for the views and the recap to print. Never waits on the engine. */
  done(): Promise<void>;
}

/** The part of listr2's task wrapper this view drives. */
interface LineHandle {
  title: string;
  output: string;
  skip(message?: string): void;
}

type Counts = Omit<HostRecap, 'unreachable'>;

interface HostLine {
  host: string;
  counts: Counts;
  current?: string;
  failure?: string;
  unreachable?: string;
  handle?: LineHandle;
  settled: boolean;
  settle(): void;
  whenSettled: Promise<void>;
}

interface Section {
  play: string;
  lines: Map<string, HostLine>;
  /** Plain lines printed under the view once it has settled. */
  transcript: string[];
  started: boolean;
}

function newLine(host: string): HostLine {
  let settle!: () => void;
  const whenSettled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const line: HostLine = {
    host,
    counts: { ok: 0, changed: 0, failed: 0, skipped: 0, ignored: 0 },
    settled: false,
    whenSettled,
    settle: () => {
      if (line.settled) return;
      line.settled = true;
      settle();
    },
  };
  return line;
}

function countsText(c: Counts, paint: Paint): string {
  const parts = [`ok=${c.ok}`, c.changed > 0 ? paint('yellow', `changed=${c.changed}`) : 'changed=0'];
  if (c.failed > 0) parts.push(paint('red', `failed=${c.failed}`));
  if (c.skipped > 0) parts.push(`skipped=${c.skipped}`);
  if (c.ignored > 0) parts.push(`ignored=${c.ignored}`);
  return parts.join(' ');
}

function runningTitle(line: HostLine, paint: Paint): string {
  return line.current ? `${paint('bold', line.host)} — ${line.current}` : paint('bold', line.host);
}

/**
 * A spinner that does not hold the process open: if the CLI forgets done() after the engine
 * throws, Node can still exit (and the 'exit' hook below flushes what listr2 was holding).
 */
class UnrefSpinner extends Spinner {
  override start(cb?: () => void, interval?: number): void {
    super.start(cb, interval);
    (this as unknown as { id?: NodeJS.Timeout }).id?.unref();
  }
}

function tally(c: Counts, e: TaskEvent): void {
  if (e.ignored) c.ignored++;
  else c[e.status]++;
}

export function liveListener(opts: LiveOptions): LiveOutput {
  const out = (opts.out ?? process.stdout) as NodeJS.WriteStream;
  const color = opts.color ?? colorEnabled(out);
  const paint = painter(color);
  const sections: Section[] = [];
  let current: Section | undefined;
  let chain: Promise<void> = Promise.resolve();
  let wroteSomething = false;
  let closed = false;
  let viewActive: ProcessOutput | undefined;

  const write = (lines: string[], blankBefore = false): void => {
    if (lines.length === 0) return;
    writeLines(out, blankBefore && wroteSomething ? ['', ...lines] : lines);
    wroteSomething = true;
  };
  const enqueue = (step: () => void | Promise<void>): void => {
    chain = chain.then(step).catch((err: unknown) => {
      // A broken view must not take the run down with it; say so once and carry on.
      process.stderr.write(`is-provision: live output failed: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  };
  // Exiting mid-view (process.exit, or done() never called): hand back the output listr2 is
  // buffering, such as the CLI's error message, and the cursor it hid.
  const onExit = (): void => {
    viewActive?.release();
  };
  process.on('exit', onExit);
  // On Ctrl-C the hidden cursor would outlive us: restore-cursor's own fix writes to stderr,
  // which listr2 is buffering. Listening cancels Node's default death, so unhook first and
  // re-raise when nobody else (the CLI, signal-exit) is left to act on the signal.
  const onSigint = (): void => {
    process.removeListener('SIGINT', onSigint);
    viewActive?.stdout.write(ANSI_ESCAPE_CODES.CURSOR_SHOW);
    if (process.listenerCount('SIGINT') === 0) process.kill(process.pid, 'SIGINT');
  };

  const openSection = (play: string, hosts: readonly string[]): Section => {
    if (current) endSection(current);
    const section: Section = { play, lines: new Map(), transcript: [], started: false };
    for (const host of hosts) section.lines.set(host, newLine(host));
    sections.push(section);
    current = section;
    enqueue(() => runSection(section, hosts));
    return section;
  };
  const endSection = (section: Section): void => {
    for (const line of section.lines.values()) line.settle();
  };
  /** The host's line in the current play, added late only while that play's view has not started. */
  const lineFor = (host: string, play: string): HostLine | undefined => {
    const section = current ?? openSection(play, []);
    let line = section.lines.get(host);
    if (!line && !section.started) {
      line = newLine(host);
      section.lines.set(host, line);
    }
    return line;
  };
  const retitle = (line: HostLine): void => {
    if (line.handle && !line.settled) line.handle.title = runningTitle(line, paint);
  };

  async function runSection(section: Section, hosts: readonly string[]): Promise<void> {
    section.started = true;
    write([playLine(section.play, hosts.length > 0 ? hosts : [...section.lines.keys()], paint)], true);
    const processOutput = new ProcessOutput(out);
    // One logger for either renderer; nothing to stderr so the view and its failures stay together.
    const logger = new ListrLogger({ useIcons: true, toStderr: [], processOutput });
    const listr = new Listr(
      [...section.lines.values()].map((line) => ({
        title: line.host,
        task: async (_ctx: unknown, handle: LineHandle): Promise<void> => {
          line.handle = handle;
          handle.title = runningTitle(line, paint);
          await line.whenSettled;
          handle.output = '';
          if (line.unreachable !== undefined) {
            throw new Error(`${paint('bold', line.host)} unreachable — ${line.unreachable}`);
          }
          const total = Object.values(line.counts).reduce((a, b) => a + b, 0);
          if (total === 0) return handle.skip(`${line.host} nothing ran`);
          const summary = `${paint('bold', line.host)} ${countsText(line.counts, paint)}`;
          if (line.failure !== undefined) throw new Error(`${summary} — ${line.failure}`);
          handle.title = summary;
        },
        rendererOptions: { outputBar: 1, persistentOutput: false },
      })),
      {
        concurrent: true,
        exitOnError: false,
        // The CLI owns SIGINT (it aborts the engine); listr2's handler would process.exit(127).
        registerSignalListeners: false,
        renderer: 'default',
        rendererOptions: {
          logger,
          collapseSubtasks: false,
          collapseErrors: true,
          showErrorMessage: true,
          collapseSkips: true,
          showSkipMessage: true,
          formatOutput: 'truncate',
          removeEmptyLines: true,
          timer: PRESET_TIMER,
          spinner: new UnrefSpinner(),
        },
        // Only reached when process.stdout is not a TTY (tests); the CLI uses plain output there.
        fallbackRenderer: 'simple',
        fallbackRendererOptions: { logger },
      },
    );
    viewActive = processOutput;
    process.prependListener('SIGINT', onSigint);
    try {
      await listr.run();
    } finally {
      viewActive = undefined;
      process.removeListener('SIGINT', onSigint);
    }
    write(section.transcript, true);
  }

  const listener: RunListener = (event: RunEvent) => {
    if (closed) return;
    switch (event.type) {
      case 'run-start':
        if (event.dryRun) enqueue(() => write([dryRunBanner(paint)]));
        break;
      case 'play-start':
        openSection(event.play, event.hosts);
        break;
      case 'play-end':
        if (current) endSection(current);
        break;
      case 'task-start': {
        const line = lineFor(event.host, event.play);
        if (!line) break;
        line.current = event.handler ? `HANDLER ${event.task}` : event.task;
        if (line.handle && !line.settled) line.handle.output = '';
        retitle(line);
        break;
      }
      case 'progress': {
        const line = current?.lines.get(event.host);
        if (line?.handle && !line.settled) line.handle.output = event.message;
        break;
      }
      case 'task': {
        const line = lineFor(event.host, event.play);
        const section = current;
        if (line) {
          tally(line.counts, event);
          if (event.status === 'failed' && !event.ignored && line.failure === undefined) {
            line.failure = `${event.task}: ${event.error?.message ?? event.reason}`;
            // The engine drops a failed host from the play, so its line can settle now.
            line.settle();
          }
        }
        // Changes and failures are what a reader scrolls back for; ok/skipped only in -v.
        const worthKeeping = opts.verbose || event.status === 'changed' || event.status === 'failed' || event.diff;
        if (section && worthKeeping) section.transcript.push(...taskLines(event, paint, opts.verbose));
        break;
      }
      case 'command':
        if (opts.verbose) current?.transcript.push(...commandLines(event, paint));
        break;
      case 'unreachable': {
        const line = current?.lines.get(event.host);
        if (line) {
          line.unreachable = event.message;
          line.settle();
        }
        const text = unreachableLine(event.host, event.message, paint);
        // Unreachable before any play (connecting up front) still has to be said.
        if (current) current.transcript.push(text);
        else enqueue(() => write([text]));
        break;
      }
      case 'recap':
        for (const section of sections) endSection(section);
        enqueue(() => write(textLines(formatRecap(event, { color })), true));
        break;
    }
  };

  return {
    listener,
    async done() {
      closed = true;
      for (const section of sections) endSection(section);
      // Steps only enqueue from the listener, which is now closed, so one await drains the chain.
      await chain;
      process.removeListener('exit', onExit);
      await flush(out);
    },
  };
}
