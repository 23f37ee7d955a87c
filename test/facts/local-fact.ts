import { fileFact, type FileFact, type FileFactArgs } from '../../src/facts/file.js';
import { runSh } from '../shell/run-sh.js';

/** Runs the file fact's command with the local sh and parses it, as the engine does on a host. */
export function fileFactHere(args: FileFactArgs, options: { cwd?: string; asUser?: number } = {}): FileFact {
  const command = fileFact.definition.command(args).text;
  const script = options.asUser === undefined ? command : `exec setpriv --reuid=${options.asUser} --regid=${options.asUser} --clear-groups sh -c ${shQuote(command)}`;
  const result = runSh(script, options.cwd ? { cwd: options.cwd } : {});
  if (result.code !== 0) throw new Error(`file fact failed (${result.code}): ${result.stderr}`);
  return fileFact.definition.parse(result.stdout.toString('utf8'), args);
}

function shQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
