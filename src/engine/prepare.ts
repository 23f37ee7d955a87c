import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Host, Inventory } from '../inventory/types.js';
import { selectHosts } from '../inventory/select.js';
import { isTask } from '../playbook/define.js';
import { PlaybookError } from '../playbook/errors.js';
import type { Play, Playbook, Task, TaskList } from '../playbook/types.js';
import { MODULES } from '../modules/registry.js';
import type { ModuleDefinition, PrepareContext } from '../modules/define.js';
import { didYouMean } from '../util/did-you-mean.js';
import { UsageError } from './errors.js';
import { hostView, inventoryView, mergedVars } from './vars.js';

export interface PreparedTask {
  readonly task: Task;
  readonly module: ModuleDefinition;
  /** The module's options after prepare(): local files read, templates rendered. */
  readonly plan: unknown;
  readonly name: string;
  readonly notify: readonly string[];
  /** The names that notify this handler: its name and its `listen` names. */
  readonly listen: readonly string[];
  readonly handler: boolean;
}

export interface PreparedHost {
  readonly host: Host;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly tasks: readonly PreparedTask[];
  readonly handlers: readonly PreparedTask[];
}

export interface PreparedPlay {
  readonly play: Play;
  readonly hosts: readonly PreparedHost[];
}

export interface PrepareOptions {
  playbook: Playbook;
  playbookFile: string;
  inventory: Inventory;
  limit?: string;
  extraVars?: Readonly<Record<string, unknown>>;
  tags?: readonly string[];
  skipTags?: readonly string[];
}

/** Local paths resolve against the playbook's directory, then its parent (templates/ beside playbooks/). */
export function localResolver(playbookFile: string): (p: string) => string {
  const dir = path.dirname(path.resolve(playbookFile));
  return (p: string) => {
    if (path.isAbsolute(p)) return p;
    const candidates = [path.join(dir, p), path.join(path.dirname(dir), p)];
    return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
  };
}

function selectOrFail(inventory: Inventory, pattern: string | readonly string[], where: string): Host[] {
  try {
    return selectHosts(inventory, [...(typeof pattern === 'string' ? [pattern] : pattern)]);
  } catch (error) {
    throw new UsageError(`${where}: ${(error as Error).message}`);
  }
}

const asList = (value: string | readonly string[] | undefined): string[] =>
  value === undefined ? [] : typeof value === 'string' ? [value] : [...value];

function tagged(task: Task, tags?: readonly string[], skipTags?: readonly string[]): boolean {
  const own = task.common.tags ?? [];
  if (skipTags?.some((t) => own.includes(t))) return false;
  if (tags && tags.length > 0 && !tags.some((t) => own.includes(t) || t === 'all')) return false;
  return true;
}

async function prepareList(
  list: TaskList | undefined,
  what: 'tasks' | 'handlers',
  context: { host: Host; vars: Readonly<Record<string, unknown>>; options: PrepareOptions; where: string },
): Promise<PreparedTask[]> {
  if (list === undefined) return [];
  const { host, vars, options, where } = context;
  let items: readonly unknown[];
  try {
    items = typeof list === 'function' ? list({ host: hostView(host), vars, inventory: inventoryView(options.inventory) }) : list;
  } catch (error) {
    if (error instanceof PlaybookError) throw error;
    throw new PlaybookError(`${where}: ${what} failed for host ${host.name}: ${(error as Error).message}`, options.playbook.origin);
  }
  if (!Array.isArray(items)) throw new PlaybookError(`${where}: ${what} must return an array of tasks`, options.playbook.origin);
  const resolve = localResolver(options.playbookFile);
  const prepared: PreparedTask[] = [];
  for (const [i, item] of items.entries()) {
    if (item === false || item === null || item === undefined) continue;
    if (!isTask(item)) throw new PlaybookError(`${where}: ${what}[${i}] is not a task (build it with a module such as copy())`, options.playbook.origin);
    if (what === 'tasks' && !tagged(item, options.tags, options.skipTags)) continue;
    const module = MODULES[item.module];
    if (!module) throw new PlaybookError(`unknown module "${item.module}"${didYouMean(item.module, Object.keys(MODULES))}`, item.origin);
    const prepareContext: PrepareContext = {
      host: hostView(host),
      vars,
      resolveLocal: resolve,
      origin: item.origin,
      async readLocal(p: string) {
        const full = resolve(p);
        try {
          return await readFile(full);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          throw new PlaybookError(`${item.module}: cannot read local file ${full}${code === 'ENOENT' ? ': no such file' : `: ${code}`}`, item.origin);
        }
      },
    };
    const plan = module.prepare ? await module.prepare(item.options, prepareContext) : item.options;
    const notify = asList(item.common.notify);
    const name = item.common.name ?? module.describe(item.options);
    const listen = [name, ...asList(item.common.listen)];
    prepared.push({ task: item, module, plan, name, notify, listen, handler: what === 'handlers' });
  }
  return prepared;
}

/**
 * Everything that can be known before touching a host: which hosts each play runs on, each host's
 * tasks and handlers, local files read and templates rendered. Any mistake here is a UsageError, so
 * a bad playbook never runs half-way.
 */
export async function prepareRun(options: PrepareOptions): Promise<PreparedPlay[]> {
  const { playbook, inventory } = options;
  const limited = options.limit ? new Set(selectOrFail(inventory, options.limit.split(','), '--limit').map((h) => h.name)) : undefined;
  const plays: PreparedPlay[] = [];
  for (const play of playbook.plays) {
    const where = `play "${play.name}"`;
    const hosts = selectOrFail(inventory, play.hosts, where).filter((h) => !limited || limited.has(h.name));
    const prepared: PreparedHost[] = [];
    for (const host of hosts) {
      const vars = mergedVars(playbook, host, play, options.extraVars ?? {});
      const context = { host, vars, options, where };
      const tasks = await prepareList(play.tasks, 'tasks', context);
      const handlers = await prepareList(play.handlers, 'handlers', context);
      const names = handlers.flatMap((h) => h.listen);
      for (const task of tasks) {
        for (const name of task.notify) {
          if (!names.includes(name)) {
            throw new PlaybookError(`${where}: task "${task.name}" notifies "${name}", which is not a handler of this play${didYouMean(name, names)}`, task.task.origin);
          }
        }
      }
      prepared.push({ host, vars, tasks, handlers });
    }
    plays.push({ play, hosts: prepared });
  }
  return plays;
}
