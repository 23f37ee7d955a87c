import type { Vars, VarValue } from '../inventory/types.js';

/** Options every task takes, whatever its module. */
export interface CommonOptions {
  /** Shown in the output; defaults to a description of what the task does. */
  name?: string;
  /** Handler name(s) to run at the end of the play when this task changed. */
  notify?: string | string[];
  /** false: the task is skipped. */
  when?: boolean;
  /** Select or skip tasks with --tags / --skip-tags. */
  tags?: string[];
  /** A failure is reported but the host carries on. */
  ignoreErrors?: boolean;
  /** Run through sudo; overrides the host's `become`. */
  become?: boolean;
  /** For handlers: further names that notify this handler (as Ansible's `listen`). */
  listen?: string | string[];
}

/** A task as the playbook builds it: plain data, checked when built. */
export interface Task<O = unknown> {
  readonly kind: 'task';
  readonly module: string;
  readonly options: O;
  readonly common: Readonly<CommonOptions>;
  /** "file:line" in the playbook where the task was built. */
  readonly origin?: string;
}

/** What a play's tasks see of a host. */
export interface HostView {
  readonly name: string;
  readonly address: string;
  readonly groups: readonly string[];
  readonly vars: Readonly<Vars>;
}

export interface InventoryView {
  /** Hosts matching a pattern (names, groups, `all`, globs, `!exclusions`), in inventory order. */
  hosts(pattern?: string | string[]): HostView[];
  readonly groups: Readonly<Record<string, readonly string[]>>;
}

export interface TaskContext {
  readonly host: HostView;
  /** Merged vars: playbook < inventory < group < host < play < -e. */
  readonly vars: Readonly<Record<string, any>>;
  readonly inventory: InventoryView;
}

export type TaskList = readonly Task[] | ((context: TaskContext) => readonly (Task | false | null | undefined)[]);

export interface Play {
  name: string;
  /** Group or host names, `all`, or an array of them. */
  hosts: string | readonly string[];
  /** Hosts per batch, for rolling changes; default all at once. */
  serial?: number;
  vars?: Record<string, VarValue>;
  tasks: TaskList;
  /** Run once per host at the end of the play, where a notifying task changed, in this order. */
  handlers?: TaskList;
}

export interface Playbook {
  readonly kind: 'playbook';
  readonly name: string;
  readonly vars: Readonly<Record<string, VarValue>>;
  readonly plays: readonly Play[];
  readonly origin?: string;
}
