import { Shell, raw } from '../shell/quote.js';
import type { FactCall } from './define.js';

/**
 * Several facts in one round trip: each command runs in its own subshell between markers that carry
 * a per-run nonce, so no file content can forge a boundary.
 */
export function factScript(calls: readonly FactCall<unknown>[], nonce: string): Shell {
  const parts = calls.map((call, i) => {
    const command = call.fact.command(call.args).text;
    return `printf '\\n${nonce}:begin:${i}\\n'\n(\n${command}\n)\nprintf '\\n${nonce}:end:${i}:%s\\n' "$?"`;
  });
  return raw(parts.join('\n'));
}

export interface FactOutput {
  stdout: string;
  code: number;
}

/** Splits the script's stdout back into each fact's output and exit code. */
export function splitFactOutput(stdout: string, nonce: string, count: number): FactOutput[] {
  const outputs: FactOutput[] = [];
  for (let i = 0; i < count; i++) {
    const begin = `\n${nonce}:begin:${i}\n`;
    const endPrefix = `\n${nonce}:end:${i}:`;
    const start = stdout.indexOf(begin);
    const end = stdout.indexOf(endPrefix, start + begin.length);
    if (start < 0 || end < 0) throw new Error(`fact output ${i} is incomplete`);
    const codeText = stdout.slice(end + endPrefix.length, stdout.indexOf('\n', end + endPrefix.length));
    outputs.push({ stdout: stdout.slice(start + begin.length, end), code: Number(codeText) });
  }
  return outputs;
}
