import type { Masker } from '../shell/secret.js';
import type { RunEvent } from './events.js';

function maskValue(value: unknown, masker: Masker): unknown {
  if (typeof value === 'string') return masker.mask(value);
  if (Array.isArray(value)) return value.map((v) => maskValue(v, masker));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(v, masker)]));
  }
  return value;
}

/** Every string in an event with the run's secret values replaced by ***: listeners never see them. */
export function maskEvent(event: RunEvent, masker: Masker): RunEvent {
  return maskValue(event, masker) as RunEvent;
}
