import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunEvent } from '../../src/engine/events.js';
import { jsonListener } from '../../src/output/json.js';
import { runEvents } from './fixtures.js';
import { capture } from './helpers.js';

function render(events: RunEvent[], verbose = false): string[] {
  const { out, text } = capture();
  const listener = jsonListener(out, { verbose });
  for (const e of events) listener(e);
  return text().split('\n');
}

const cases: { name: string; event: RunEvent; verbose?: boolean; expected: string | null }[] = [
  {
    name: 'run-start',
    event: { type: 'run-start', playbook: 'site.ts', dryRun: true, hosts: ['a'] },
    expected: '{"type":"run","playbook":"site.ts","dryRun":true,"hosts":["a"]}',
  },
  { name: 'play-start', event: { type: 'play-start', play: 'web', hosts: ['a', 'b'] }, expected: '{"type":"play","name":"web","hosts":["a","b"]}' },
  {
    name: 'plain task leaves optional keys out',
    event: { type: 'task', host: 'a', play: 'p', task: 't', status: 'ok', reason: 'r', handler: false, durationMs: 3 },
    expected: '{"type":"task","host":"a","play":"p","task":"t","status":"ok","reason":"r","durationMs":3}',
  },
  {
    name: 'task with every optional key',
    event: {
      type: 'task', host: 'a', play: 'p', task: 't', status: 'failed', reason: 'r', diff: '-x\n+y\n', handler: true, ignored: true,
      error: { message: 'm', command: 'c', code: 2, stderrTail: 'e' }, durationMs: 4,
    },
    expected: '{"type":"task","host":"a","play":"p","task":"t","status":"failed","reason":"r","diff":"-x\\n+y\\n","handler":true,"ignored":true,' +
      '"error":{"message":"m","command":"c","code":2,"stderrTail":"e"},"durationMs":4}',
  },
  { name: 'unreachable', event: { type: 'unreachable', host: 'a', message: 'm' }, expected: '{"type":"unreachable","host":"a","message":"m"}' },
  { name: 'command without verbose', event: { type: 'command', host: 'a', task: 't', command: 'ls', code: 0, stdout: 'o', stderr: '' }, expected: null },
  {
    name: 'command with verbose',
    verbose: true,
    event: { type: 'command', host: 'a', task: 't', command: 'ls', code: 0, stdout: 'o', stderr: '' },
    expected: '{"type":"command","host":"a","task":"t","command":"ls","code":0,"stdout":"o","stderr":""}',
  },
  { name: 'progress', event: { type: 'progress', host: 'a', task: 't', message: 'm' }, expected: null },
  { name: 'task-start', event: { type: 'task-start', host: 'a', play: 'p', task: 't', handler: false }, expected: null },
  { name: 'play-end', event: { type: 'play-end', play: 'p' }, expected: null },
  {
    name: 'recap',
    event: {
      type: 'recap', dryRun: false, durationMs: 99,
      hosts: { a: { unreachable: true, ignored: 0, skipped: 1, failed: 2, changed: 3, ok: 4 } },
    },
    expected: '{"type":"recap","dryRun":false,"hosts":{"a":{"ok":4,"changed":3,"failed":2,"skipped":1,"unreachable":true,"ignored":0}},"durationMs":99}',
  },
];

for (const c of cases) {
  test(`json: ${c.name}`, () => {
    assert.deepEqual(render([c.event], c.verbose ?? false), c.expected === null ? [''] : [c.expected, '']);
  });
}

test('json: a whole run is one parseable object per line, recap last', () => {
  const lines = render(runEvents(true), true);
  assert.equal(lines.pop(), '');
  const objects = lines.map((l) => JSON.parse(l) as { type: string; dryRun?: boolean });
  assert.deepEqual(objects.map((o) => o.type), [
    'run', 'play', 'task', 'task', 'task', 'command', 'task', 'task', 'play', 'unreachable', 'task', 'recap',
  ]);
  assert.equal(objects.at(-1)?.dryRun, true);
});
