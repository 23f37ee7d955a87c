import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostRecap } from '../../src/engine/events.js';
import { formatRecap } from '../../src/output/recap.js';
import { formatDuration } from '../../src/output/style.js';

const r = (over: Partial<HostRecap> = {}): HostRecap => ({
  ok: 0, changed: 0, failed: 0, skipped: 0, ignored: 0, unreachable: false, ...over,
});

const cases: { name: string; hosts: Record<string, HostRecap>; dryRun?: boolean; durationMs?: number; color?: boolean; expected: string[] }[] = [
  {
    name: 'aligns host names and every column, keeping engine order',
    hosts: { 'web-long-name': r({ ok: 12, changed: 3 }), db: r({ ok: 1, failed: 1, skipped: 10 }) },
    durationMs: 830,
    expected: [
      'PLAY RECAP',
      'web-long-name : ok=12  changed=3  unreachable=0  failed=0  skipped=0   ignored=0',
      'db            : ok=1   changed=0  unreachable=0  failed=1  skipped=10  ignored=0',
      'total time: 830ms',
    ],
  },
  {
    name: 'dry run header and unreachable as 1',
    dryRun: true,
    hosts: { a: r({ unreachable: true }) },
    durationMs: 125_000,
    expected: [
      'PLAY RECAP (dry run: "changed" means "would change")',
      'a : ok=0  changed=0  unreachable=1  failed=0  skipped=0  ignored=0',
      'total time: 2m 05s',
    ],
  },
  { name: 'no hosts', hosts: {}, durationMs: 0, expected: ['PLAY RECAP', '(no hosts)', 'total time: 0ms'] },
  {
    name: 'colour only on non-zero counts, host coloured by its worst outcome',
    color: true,
    hosts: { ok1: r({ ok: 2 }), ch: r({ changed: 1 }) },
    durationMs: 1500,
    expected: [
      '\u001b[1mPLAY RECAP\u001b[22m',
      '\u001b[32mok1\u001b[39m : \u001b[32mok=2\u001b[39m  changed=0  unreachable=0  failed=0  skipped=0  ignored=0',
      '\u001b[33mch\u001b[39m  : ok=0  \u001b[33mchanged=1\u001b[39m  unreachable=0  failed=0  skipped=0  ignored=0',
      'total time: 1.5s',
    ],
  },
];

for (const c of cases) {
  test(`recap: ${c.name}`, () => {
    const text = formatRecap(
      { type: 'recap', dryRun: c.dryRun ?? false, hosts: c.hosts, durationMs: c.durationMs ?? 0 },
      { color: c.color ?? false },
    );
    assert.equal(text, c.expected.join('\n'));
  });
}

test('formatDuration', () => {
  const cases: [number, string][] = [[0, '0ms'], [999, '999ms'], [1000, '1.0s'], [59_940, '59.9s'], [61_000, '1m 01s'], [3_725_000, '1h 02m'], [-5, '0ms']];
  for (const [ms, expected] of cases) assert.equal(formatDuration(ms), expected, String(ms));
});
