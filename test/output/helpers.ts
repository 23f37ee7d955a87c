import { PassThrough } from 'node:stream';

/** A stream that remembers everything written to it. */
export function capture(): { out: PassThrough; text(): string } {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (chunk: Buffer | string) => chunks.push(chunk.toString()));
  return { out, text: () => chunks.join('') };
}

export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
}
