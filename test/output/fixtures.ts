/** Event sequences shared by the output tests and the tmux demo script. */
import type { RunEvent } from '../../src/engine/events.js';

export const DIFF = [
  '--- /etc/motd',
  '+++ /etc/motd',
  '@@ -1 +1 @@',
  '-hello',
  '+welcome',
  '',
].join('\n');

/** Two hosts, a change with a diff, an ignored failure, a handler, a real failure and an unreachable host. */
export function runEvents(dryRun = false): RunEvent[] {
  return [
    { type: 'run-start', playbook: 'site.ts', dryRun, hosts: ['web1', 'web2', 'db1'] },
    { type: 'play-start', play: 'web', hosts: ['web1', 'web2'] },
    { type: 'task-start', host: 'web1', play: 'web', task: 'motd', handler: false },
    { type: 'task', host: 'web1', play: 'web', task: 'motd', status: 'changed', reason: 'content differs', diff: DIFF, handler: false, durationMs: 120 },
    { type: 'task', host: 'web2', play: 'web', task: 'motd', status: 'ok', reason: 'up to date', handler: false, durationMs: 80 },
    {
      type: 'task', host: 'web2', play: 'web', task: 'probe', status: 'failed', reason: 'command failed', handler: false, ignored: true,
      error: { message: 'exit 3', command: 'test -f /x', code: 3, stderrTail: 'no such file\nreally' }, durationMs: 5,
    },
    { type: 'command', host: 'web1', task: 'restart nginx', command: 'systemctl restart nginx', code: 0, stdout: 'done\n', stderr: '' },
    { type: 'task', host: 'web1', play: 'web', task: 'restart nginx', status: 'changed', reason: 'notified', handler: true, durationMs: 1500 },
    { type: 'task', host: 'web2', play: 'web', task: 'cleanup', status: 'skipped', reason: 'when: false', handler: false, durationMs: 0 },
    { type: 'play-end', play: 'web' },
    { type: 'play-start', play: 'db', hosts: ['db1', 'web2'] },
    { type: 'unreachable', host: 'db1', message: 'connect ECONNREFUSED 10.0.0.9:22' },
    {
      type: 'task', host: 'web2', play: 'db', task: 'install postgres', status: 'failed', reason: '', handler: false,
      error: { message: 'apt-get failed', command: 'apt-get install -y postgresql', code: 100, stderrTail: 'E: Unable to locate package' }, durationMs: 2300,
    },
    { type: 'play-end', play: 'db' },
    {
      type: 'recap', dryRun, durationMs: 12_345,
      hosts: {
        web1: { ok: 0, changed: 2, failed: 0, skipped: 0, ignored: 0, unreachable: false },
        web2: { ok: 1, changed: 0, failed: 1, skipped: 1, ignored: 1, unreachable: false },
        db1: { ok: 0, changed: 0, failed: 0, skipped: 0, ignored: 0, unreachable: true },
      },
    },
  ];
}
