import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createOutput, printError, printLine } from '../../src/output/choose.js';
import { colorEnabled } from '../../src/output/style.js';
import { capture } from './helpers.js';

const pick: { name: string; json: boolean; isTTY: boolean; ci: boolean; expected: 'json' | 'plain' | 'live' }[] = [
  { name: 'json wins even on a TTY', json: true, isTTY: true, ci: false, expected: 'json' },
  { name: 'json in CI', json: true, isTTY: false, ci: true, expected: 'json' },
  { name: 'pipe gets plain', json: false, isTTY: false, ci: false, expected: 'plain' },
  { name: 'CI gets plain even with a TTY', json: false, isTTY: true, ci: true, expected: 'plain' },
  { name: 'interactive terminal gets live', json: false, isTTY: true, ci: false, expected: 'live' },
];

for (const c of pick) {
  test(`createOutput: ${c.name}`, { timeout: 10_000 }, async () => {
    const { out, text } = capture();
    const output = createOutput({ json: c.json, verbose: false, diff: false, isTTY: c.isTTY, ci: c.ci, out });
    assert.equal(output.kind, c.expected);
    output.listener({ type: 'play-start', play: 'p', hosts: ['a'] });
    output.listener({ type: 'play-end', play: 'p' });
    await output.done();
    if (c.expected === 'json') assert.equal(text(), '{"type":"play","name":"p","hosts":["a"]}\n');
    else assert.ok(text().startsWith('PLAY [p] hosts: a\n'), text());
  });
}

const colors: { name: string; env: NodeJS.ProcessEnv; isTTY: boolean; expected: boolean }[] = [
  { name: 'TTY', env: {}, isTTY: true, expected: true },
  { name: 'pipe', env: {}, isTTY: false, expected: false },
  { name: 'NO_COLOR on a TTY', env: { NO_COLOR: '1' }, isTTY: true, expected: false },
  { name: 'empty NO_COLOR is ignored', env: { NO_COLOR: '' }, isTTY: true, expected: true },
  { name: 'FORCE_COLOR on a pipe', env: { FORCE_COLOR: '1' }, isTTY: false, expected: true },
  { name: 'empty FORCE_COLOR forces', env: { FORCE_COLOR: '' }, isTTY: false, expected: true },
  { name: 'FORCE_COLOR=0 on a TTY', env: { FORCE_COLOR: '0' }, isTTY: true, expected: false },
  { name: 'FORCE_COLOR=false', env: { FORCE_COLOR: 'false' }, isTTY: true, expected: false },
  { name: 'FORCE_COLOR beats NO_COLOR', env: { FORCE_COLOR: '1', NO_COLOR: '1' }, isTTY: false, expected: true },
  { name: 'TERM=dumb', env: { TERM: 'dumb' }, isTTY: true, expected: false },
];

for (const c of colors) {
  test(`colorEnabled: ${c.name}`, () => {
    assert.equal(colorEnabled({ isTTY: c.isTTY }, c.env), c.expected);
  });
}

/** Captures what fn writes to a process stream, restoring it even if fn throws. */
function intercept(stream: NodeJS.WriteStream, fn: () => void): string {
  const original = stream.write;
  let written = '';
  stream.write = ((chunk: string | Uint8Array) => {
    written += chunk.toString();
    return true;
  }) as typeof stream.write;
  try {
    fn();
  } finally {
    stream.write = original;
  }
  return written;
}

test('printError: one line, stack only when given', () => {
  const env = process.env;
  process.env = { ...env, NO_COLOR: '1' };
  delete process.env['FORCE_COLOR'];
  try {
    assert.equal(intercept(process.stderr, () => printError('no inventory')), 'error: no inventory\n');
    assert.equal(intercept(process.stderr, () => printError('bad', 'Error: bad\n    at x')), 'error: bad\nError: bad\n    at x\n');
  } finally {
    process.env = env;
  }
});

test('printLine writes one line to stdout', () => {
  assert.equal(intercept(process.stdout, () => printLine('hello')), 'hello\n');
});
