import { PlaybookError } from './errors.js';
import { callerOrigin } from './origin.js';
import { validateOptions, type OptionsSchema } from './options.js';
import type { CommonOptions, Play, Playbook, Task } from './types.js';
import type { VarValue } from '../inventory/types.js';

export const COMMON_SCHEMA: OptionsSchema = {
  name: { type: 'string' },
  notify: { type: 'string-or-strings' },
  when: { type: 'boolean' },
  tags: { type: 'strings' },
  ignoreErrors: { type: 'boolean' },
  become: { type: 'boolean' },
  listen: { type: 'string-or-strings' },
};

const COMMON_KEYS = Object.keys(COMMON_SCHEMA);

/**
 * Builds a task of a module: splits the common options from the module's own, checks both and records
 * where in the playbook the task was written.
 */
export function buildTask<O extends object>(
  module: string,
  schema: OptionsSchema,
  options: O & CommonOptions,
  check?: (options: O) => string | undefined,
): Task<O> {
  const origin = callerOrigin();
  // Where a module has a `name` of its own (a service's, a database's), `name` is that, and the task
  // is shown by its description; handlers of such modules are notified through `listen`.
  validateOptions(module, { ...COMMON_SCHEMA, ...schema }, options as Record<string, unknown>, origin);
  const common: Record<string, unknown> = {};
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (COMMON_KEYS.includes(key) && !(key in schema)) common[key] = value;
    else own[key] = value;
  }
  const problem = check?.(own as O);
  if (problem) throw new PlaybookError(`${module}: ${problem}`, origin);
  return Object.freeze({
    kind: 'task' as const,
    module,
    options: Object.freeze(own) as O,
    common: Object.freeze(common as CommonOptions),
    origin,
  });
}

const PLAY_KEYS = ['name', 'hosts', 'serial', 'vars', 'tasks', 'handlers'];
const PLAYBOOK_KEYS = ['name', 'vars', 'plays'];

function unknownKeys(what: string, value: object, allowed: string[], origin?: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new PlaybookError(`${what}: unknown key "${key}"`, origin);
  }
}

function checkPlay(play: Play, index: number, origin?: string): void {
  const where = `play ${index + 1}${typeof play?.name === 'string' ? ` "${play.name}"` : ''}`;
  if (play === null || typeof play !== 'object') throw new PlaybookError(`${where} must be an object`, origin);
  unknownKeys(where, play, PLAY_KEYS, origin);
  if (typeof play.name !== 'string' || play.name === '') throw new PlaybookError(`${where}: name is required`, origin);
  const hosts = typeof play.hosts === 'string' ? [play.hosts] : play.hosts;
  if (!Array.isArray(hosts) || hosts.length === 0 || !hosts.every((h) => typeof h === 'string' && h !== '')) {
    throw new PlaybookError(`${where}: hosts must be a group or host name, or an array of them`, origin);
  }
  if (play.serial !== undefined && !(Number.isInteger(play.serial) && play.serial > 0)) {
    throw new PlaybookError(`${where}: serial must be a positive integer`, origin);
  }
  if (typeof play.tasks !== 'function' && !Array.isArray(play.tasks)) {
    throw new PlaybookError(`${where}: tasks must be an array of tasks or a function returning one`, origin);
  }
  if (play.handlers !== undefined && typeof play.handlers !== 'function' && !Array.isArray(play.handlers)) {
    throw new PlaybookError(`${where}: handlers must be an array of tasks or a function returning one`, origin);
  }
}

/** Declares a playbook: named plays of ordered tasks. The default export of a playbook file. */
export function definePlaybook(playbook: {
  name: string;
  vars?: Record<string, VarValue>;
  plays: Play[];
}): Playbook {
  const origin = callerOrigin();
  if (playbook === null || typeof playbook !== 'object') throw new PlaybookError('definePlaybook takes an object', origin);
  unknownKeys('playbook', playbook, PLAYBOOK_KEYS, origin);
  if (typeof playbook.name !== 'string' || playbook.name === '') throw new PlaybookError('playbook: name is required', origin);
  if (!Array.isArray(playbook.plays) || playbook.plays.length === 0) {
    throw new PlaybookError('playbook: plays must be a non-empty array', origin);
  }
  playbook.plays.forEach((play, i) => checkPlay(play, i, origin));
  return Object.freeze({
    kind: 'playbook' as const,
    name: playbook.name,
    vars: Object.freeze({ ...(playbook.vars ?? {}) }),
    plays: Object.freeze([...playbook.plays]),
    origin,
  });
}

export function isPlaybook(value: unknown): value is Playbook {
  return value !== null && typeof value === 'object' && (value as Playbook).kind === 'playbook';
}

export function isTask(value: unknown): value is Task {
  return value !== null && typeof value === 'object' && (value as Task).kind === 'task';
}
