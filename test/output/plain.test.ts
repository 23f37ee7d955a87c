import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunEvent } from '../../src/engine/events.js';
import { plainListener } from '../../src/output/plain.js';
import { DIFF, runEvents } from './fixtures.js';
import { capture } from './helpers.js';

function render(events: RunEvent[], opts: Partial<{ verbose: boolean; color: boolean }> = {}): string {
  const { out, text } = capture();
  const listener = plainListener(out, { verbose: false, diff: true, color: false, ...opts });
  for (const e of events) listener(e);
  return text();
}

const task = (over: Partial<Extract<RunEvent, { type: 'task' }>>): RunEvent => ({
  type: 'task', host: 'h1', play: 'p', task: 't', status: 'ok', reason: 'fine', handler: false, durationMs: 1, ...over,
});

const cases: { name: string; events: RunEvent[]; verbose?: boolean; color?: boolean; expected: string[] }[] = [
  {
    name: 'play header lists hosts',
    events: [{ type: 'play-start', play: 'web', hosts: ['a', 'b'] }],
    expected: ['PLAY [web] hosts: a, b'],
  },
  {
    name: 'dry run banner, then a blank line before the first play',
    events: [{ type: 'run-start', playbook: 'x', dryRun: true, hosts: [] }, { type: 'play-start', play: 'p', hosts: [] }],
    expected: ['DRY RUN: nothing will be changed', '', 'PLAY [p] hosts: (none)'],
  },
  {
    name: 'a normal run prints nothing at run-start',
    events: [{ type: 'run-start', playbook: 'x', dryRun: false, hosts: ['a'] }],
    expected: [],
  },
  { name: 'ok', events: [task({})], expected: ['ok: [h1] t — fine'] },
  { name: 'no reason, no dash', events: [task({ reason: '' })], expected: ['ok: [h1] t'] },
  { name: 'skipped', events: [task({ status: 'skipped', reason: 'when' })], expected: ['skipped: [h1] t — when'] },
  {
    name: 'changed with diff indented under it',
    events: [task({ status: 'changed', reason: 'differs', diff: '-a\n+b\n' })],
    expected: ['changed: [h1] t — differs', '  -a', '  +b'],
  },
  {
    name: 'failed with command, code and stderr tail',
    events: [task({ status: 'failed', reason: 'generic', error: { message: 'boom', command: 'false', code: 1, stderrTail: 'x\n  y' } })],
    expected: ['failed: [h1] t — boom', '  command: false', '  exit code: 1', '  stderr | x', '  stderr |   y'],
  },
  {
    name: 'failed without error details falls back to the reason',
    events: [task({ status: 'failed', reason: 'timed out' })],
    expected: ['failed: [h1] t — timed out'],
  },
  {
    name: 'ignored failure',
    events: [task({ status: 'failed', ignored: true, error: { message: 'nope' } })],
    expected: ['failed: [h1] t — nope', '...ignoring'],
  },
  { name: 'handler', events: [task({ handler: true, status: 'changed', reason: 'notified' })], expected: ['changed: [h1] HANDLER t — notified'] },
  { name: 'unreachable', events: [{ type: 'unreachable', host: 'h1', message: 'timeout' }], expected: ['unreachable: [h1] timeout'] },
  {
    name: 'progress, task-start and play-end print nothing',
    events: [
      { type: 'task-start', host: 'h1', play: 'p', task: 't', handler: false },
      { type: 'progress', host: 'h1', task: 't', message: '1 MB' },
      { type: 'play-end', play: 'p' },
    ],
    expected: [],
  },
  {
    name: 'commands hidden without verbose',
    events: [{ type: 'command', host: 'h1', task: 't', command: 'ls', code: 0, stdout: 'a', stderr: '' }],
    expected: [],
  },
  {
    name: 'commands and durations shown with verbose',
    verbose: true,
    events: [
      { type: 'command', host: 'h1', task: 't', command: 'ls /nope', code: 2, stdout: 'a\nb\n', stderr: 'missing\n' },
      task({ durationMs: 2500 }),
    ],
    expected: ['[h1] $ ls /nope', '  exit code: 2', '  stdout | a', '  stdout | b', '  stderr | missing', 'ok: [h1] t — fine (2.5s)'],
  },
  {
    name: 'colour: status and diff lines',
    color: true,
    events: [task({ status: 'changed', reason: 'r', diff: '+++ f\n+a\n-b\n@@ x\n ctx' })],
    expected: [
      '\u001b[33mchanged:\u001b[39m [h1] t — r',
      '  \u001b[1m+++ f\u001b[22m',
      '  \u001b[32m+a\u001b[39m',
      '  \u001b[31m-b\u001b[39m',
      '  \u001b[36m@@ x\u001b[39m',
      '   ctx',
    ],
  },
];

for (const c of cases) {
  test(`plain: ${c.name}`, () => {
    const expected = c.expected.length > 0 ? `${c.expected.join('\n')}\n` : '';
    assert.equal(render(c.events, { verbose: c.verbose ?? false, color: c.color ?? false }), expected);
  });
}

test('plain: a whole dry run, with recap at the end', () => {
  const text = render(runEvents(true));
  const lines = text.split('\n');
  assert.equal(lines[0], 'DRY RUN: nothing will be changed');
  assert.ok(text.includes(`changed: [web1] motd — content differs\n${DIFF.trimEnd().split('\n').map((l) => `  ${l}`).join('\n')}\n`));
  assert.ok(text.includes('\n\nPLAY [db] hosts: db1, web2\nunreachable: [db1] connect ECONNREFUSED 10.0.0.9:22\n'));
  assert.ok(text.endsWith('\n\nPLAY RECAP (dry run: "changed" means "would change")\n' +
    'web1 : ok=0  changed=2  unreachable=0  failed=0  skipped=0  ignored=0\n' +
    'web2 : ok=1  changed=0  unreachable=0  failed=1  skipped=1  ignored=1\n' +
    'db1  : ok=0  changed=0  unreachable=1  failed=0  skipped=0  ignored=0\n' +
    'total time: 12.3s\n'));
});
