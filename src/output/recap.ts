/** Ansible's PLAY RECAP table, shared by the plain and live views. */
import type { HostRecap, RunEvent } from '../engine/events.js';
import { formatDuration, painter, type StyleName } from './style.js';

export type RecapEvent = Extract<RunEvent, { type: 'recap' }>;

interface Column {
  key: string;
  value: (r: HostRecap) => number;
  style: StyleName;
}

const COLUMNS: readonly Column[] = [
  { key: 'ok', value: (r) => r.ok, style: 'green' },
  { key: 'changed', value: (r) => r.changed, style: 'yellow' },
  { key: 'unreachable', value: (r) => (r.unreachable ? 1 : 0), style: 'red' },
  { key: 'failed', value: (r) => r.failed, style: 'red' },
  { key: 'skipped', value: (r) => r.skipped, style: 'cyan' },
  { key: 'ignored', value: (r) => r.ignored, style: 'cyan' },
];

function hostStyle(r: HostRecap): StyleName {
  if (r.unreachable || r.failed > 0) return 'red';
  if (r.changed > 0) return 'yellow';
  return 'green';
}

/** The recap as lines joined by '\n', without a trailing newline. Hosts keep the engine's order. */
export function formatRecap(event: RecapEvent, opts: { color: boolean }): string {
  const paint = painter(opts.color);
  const lines: string[] = [];
  lines.push(paint('bold', 'PLAY RECAP') + (event.dryRun ? paint('magenta', ' (dry run: "changed" means "would change")') : ''));

  const entries = Object.entries(event.hosts);
  const hostWidth = Math.max(0, ...entries.map(([host]) => host.length));
  // Pad to the widest cell per column so the table lines up; colour after padding so escapes do not count.
  const widths = COLUMNS.map((c) => Math.max(...entries.map(([, r]) => `${c.key}=${c.value(r)}`.length), 0));
  for (const [host, r] of entries) {
    const cells = COLUMNS.map((c, i) => {
      const n = c.value(r);
      const text = `${c.key}=${n}`;
      const pad = i === COLUMNS.length - 1 ? '' : ' '.repeat((widths[i] ?? 0) - text.length);
      return (n > 0 ? paint(c.style, text) : text) + pad;
    });
    const name = paint(hostStyle(r), host) + ' '.repeat(hostWidth - host.length);
    lines.push(`${name} : ${cells.join('  ')}`);
  }
  if (entries.length === 0) lines.push('(no hosts)');
  lines.push(`total time: ${formatDuration(event.durationMs)}`);
  return lines.join('\n');
}
