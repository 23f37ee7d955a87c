import type { Shell } from '../shell/quote.js';
import type { EffectView } from './effects.js';
import type { Secret } from '../shell/secret.js';

/**
 * A fact is one shell command plus a pure parser of its output. The command must only read:
 * facts run in dry-runs too.
 */
export interface FactDefinition<A, T> {
  readonly id: string;
  command(args: A): Shell;
  parse(stdout: string, args: A): T;
  /**
   * In a dry-run: the answer implied by earlier planned changes, Unknowable where an earlier change
   * makes the answer impossible to know before it runs, or undefined to ask the host.
   */
  fromEffects?(args: A, effects: EffectView): T | Unknowable | undefined;
  /**
   * In a dry-run, after the host answered: Unknowable where an earlier planned change may alter the
   * answer in ways nobody can tell before it runs (a package about to be installed may bring the
   * directory that is missing now), else the answer as it is.
   */
  refine?(value: T, args: A, effects: EffectView): T | Unknowable;
  /** Environment the command needs, such as a client's password: secrets reach it over stdin. */
  env?(args: A): Record<string, string | number | Secret>;
}

/** A fact that a dry-run cannot know, because an earlier task that has not run decides it. */
export class Unknowable {
  readonly because: string;
  constructor(because: string) {
    this.because = because;
  }
}

export interface FactCall<T> {
  readonly fact: FactDefinition<any, T>;
  readonly args: unknown;
}

export type FactCalls = Record<string, FactCall<unknown>>;
export type FactValues<F extends FactCalls> = { [K in keyof F]: F[K] extends FactCall<infer T> ? T : never };

export function defineFact<A, T>(definition: FactDefinition<A, T>): ((args: A) => FactCall<T>) & { definition: FactDefinition<A, T> } {
  const call = (args: A): FactCall<T> => ({ fact: definition, args });
  return Object.assign(call, { definition });
}
