import type { FactCalls, FactValues } from '../facts/define.js';
import type { OptionsSchema } from '../playbook/options.js';
import type { HostView } from '../playbook/types.js';
import type { Decision } from './decision.js';

/** What a module sees of the run when it plans: the host and its vars, nothing it could act with. */
export interface DecideContext {
  readonly host: HostView;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly dryRun: boolean;
  readonly become: boolean;
  /** The user the SSH connection logs in as. */
  readonly loginUser: string;
  /** Fixed per run, so backups made in one run share a timestamp. */
  readonly now: Date;
}

/** Local inputs, read before anything runs on any host, so a missing file fails the run up front. */
export interface PrepareContext {
  readonly host: HostView;
  readonly vars: Readonly<Record<string, unknown>>;
  /** Resolves a relative local path against the playbook's directory, then its parent. */
  resolveLocal(path: string): string;
  readLocal(path: string): Promise<Buffer>;
  /** "file:line" of the task in the playbook. */
  readonly origin?: string;
}

export interface ModuleDefinition<O = any, P = O, F extends FactCalls = FactCalls> {
  readonly name: string;
  readonly schema: OptionsSchema;
  /** The default task name. */
  describe(options: O): string;
  /** True where the task only checks the host (waits for a port, say): never reported as changed. */
  isCheck?(options: O): boolean;
  /** Turns options with local inputs (a template, a source file) into the options the module plans with. */
  prepare?(options: O, context: PrepareContext): Promise<P> | P;
  facts(options: P, context: DecideContext): F;
  decide(options: P, facts: FactValues<F>, context: DecideContext): Decision;
}

export function defineModule<O, P = O, F extends FactCalls = FactCalls>(
  definition: ModuleDefinition<O, P, F>,
): ModuleDefinition<O, P, F> {
  return Object.freeze(definition);
}
