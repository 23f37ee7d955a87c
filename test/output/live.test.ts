import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { RunEvent } from '../../src/engine/events.js';
import { liveListener } from '../../src/output/live.js';
import { runEvents } from './fixtures.js';
import { capture, stripAnsi } from './helpers.js';

const LIMIT = { timeout: 10_000 };

async function runLive(events: RunEvent[], opts: { delayMs?: number; verbose?: boolean } = {}): Promise<string> {
  const { out, text } = capture();
  const live = liveListener({ verbose: opts.verbose ?? false, diff: true, out, color: false });
  for (const e of events) {
    live.listener(e);
    if (opts.delayMs) await sleep(opts.delayMs);
  }
  await live.done();
  return text();
}

/** Asserts the fragments occur in this order. */
function assertInOrder(text: string, fragments: string[]): void {
  let from = 0;
  for (const f of fragments) {
    const at = text.indexOf(f, from);
    assert.ok(at >= 0, `missing (in order) ${JSON.stringify(f)} in:\n${text}`);
    from = at + f.length;
  }
}

const RECAP_TAIL = [
  'PLAY RECAP (dry run: "changed" means "would change")\n',
  'web1 : ok=0  changed=2  unreachable=0  failed=0  skipped=0  ignored=0\n',
  'total time: 12.3s\n',
];

// Under `node --test` stdout is a pipe, so listr2 falls back to its simple renderer here.
test('live: a whole run settles every host and prints transcript then recap', LIMIT, async () => {
  const before = { sigint: process.listenerCount('SIGINT'), exit: process.listenerCount('exit') };
  const text = await runLive(runEvents(true));
  assert.deepEqual({ sigint: process.listenerCount('SIGINT'), exit: process.listenerCount('exit') }, before, 'no process listeners leak');
  assertInOrder(text, [
    'DRY RUN: nothing will be changed\n',
    'PLAY [web] hosts: web1, web2\n',
    'web1 ok=0 changed=2',
    'web2 ok=1 changed=0 skipped=1 ignored=1',
    'changed: [web1] motd — content differs\n  --- /etc/motd\n',
    '...ignoring\n',
    'changed: [web1] HANDLER restart nginx — notified\n',
    'PLAY [db] hosts: db1, web2\n',
    'db1 unreachable — connect ECONNREFUSED',
    'web2 ok=0 changed=0 failed=1 — install postgres: apt-get failed',
    'unreachable: [db1] connect ECONNREFUSED 10.0.0.9:22\n',
    'failed: [web2] install postgres — apt-get failed\n  command: apt-get install -y postgresql\n',
    ...RECAP_TAIL,
  ]);
  assert.ok(!text.includes('ok: [web2] motd'), 'ok results stay out of the transcript without -v');
});

test('live: the real DefaultRenderer draws host lines and gives the cursor back', LIMIT, async () => {
  const stdout = process.stdout as { isTTY?: boolean };
  const wasTTY = stdout.isTTY;
  stdout.isTTY = true; // listr2 picks its renderer from process.stdout, not from the stream it is given
  try {
    const text = await runLive(runEvents(true), { delayMs: 5 });
    assert.ok(text.includes('\u001b[?25l') && text.includes('\u001b[?25h'), 'cursor hidden then shown');
    const plain = stripAnsi(text);
    assertInOrder(plain, ['web1 — motd', '✔ web1 ok=0 changed=2', '✖ web2 ok=0 changed=0 failed=1 — install postgres', ...RECAP_TAIL]);
  } finally {
    stdout.isTTY = wasTTY;
  }
});

test('live: done() resolves when hosts never got events and neither play-end nor recap came', LIMIT, async () => {
  const text = await runLive([
    { type: 'run-start', playbook: 'x', dryRun: false, hosts: ['a', 'b'] },
    { type: 'play-start', play: 'p', hosts: ['a', 'b'] },
    { type: 'task-start', host: 'a', play: 'p', task: 'slow', handler: false },
    { type: 'progress', host: 'a', task: 'slow', message: 'uploading 1.0 MB / 4.0 MB' },
  ]);
  assertInOrder(text, ['PLAY [p] hosts: a, b\n', 'a nothing ran', 'b nothing ran']);
  assert.ok(!text.includes('PLAY RECAP'));
});

test('live: done() with no events at all prints nothing', LIMIT, async () => {
  assert.equal(await runLive([]), '');
});

test('live: events arriving over time, with progress and -v commands', LIMIT, async () => {
  const text = await runLive(
    [
      { type: 'play-start', play: 'p', hosts: ['a'] },
      { type: 'task-start', host: 'a', play: 'p', task: 'upload', handler: false },
      { type: 'progress', host: 'a', task: 'upload', message: '50%' },
      { type: 'command', host: 'a', task: 'upload', command: 'sha256sum /f', code: 0, stdout: 'abc  /f\n', stderr: '' },
      { type: 'task', host: 'a', play: 'p', task: 'upload', status: 'ok', reason: 'same checksum', handler: false, durationMs: 40 },
      { type: 'play-end', play: 'p' },
      { type: 'recap', dryRun: false, durationMs: 50, hosts: { a: { ok: 1, changed: 0, failed: 0, skipped: 0, ignored: 0, unreachable: false } } },
    ],
    { delayMs: 20, verbose: true },
  );
  assertInOrder(text, ['a ok=1 changed=0', '[a] $ sha256sum /f\n', '  stdout | abc  /f\n', 'ok: [a] upload — same checksum (40ms)\n', 'PLAY RECAP\n']);
});

test('live: events after done() are ignored rather than starting a new view', LIMIT, async () => {
  const { out, text } = capture();
  const live = liveListener({ verbose: false, diff: false, out, color: false });
  await live.done();
  live.listener({ type: 'play-start', play: 'late', hosts: ['a'] });
  await live.done();
  assert.equal(text(), '');
});

test('live: a CLI that never calls done() still exits, with its error and the cursor back', LIMIT, () => {
  const script = fileURLToPath(new URL('./abandon-live.ts', import.meta.url));
  const child = spawnSync(process.execPath, ['--import', 'tsx', script, '--tty'], { encoding: 'utf8', timeout: 8000 });
  assert.equal(child.error, undefined, 'child did not hang');
  assert.equal(child.status, 1);
  assert.ok(child.stdout.includes('a — slow'), child.stdout);
  assert.ok(child.stdout.includes('\u001b[?25h'), 'cursor shown again');
  assert.ok(child.stderr.includes('error: engine blew up'), child.stderr);
});
