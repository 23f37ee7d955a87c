/**
 * What a planned change makes true on a host. In a dry-run the engine records the effects of each
 * would-change task so that later tasks decide against the state the apply would reach, not the
 * state the host is in now (a template into a directory that an earlier task creates, say).
 */
export type Effect =
  | {
      kind: 'path';
      path: string;
      state: 'file' | 'directory' | 'absent' | 'exists';
      /** The directory is new, so nothing is inside it. */
      fresh?: boolean;
      sha256?: string;
      content?: Buffer;
      /**
       * A file's size, where its bytes are not recorded (an archive member): with neither content nor
       * sha256, the file will exist but what is in it cannot be known before the run.
       */
      size?: number;
      mode?: string;
      owner?: string;
      group?: string;
      /** The task that planned it; filled in by the store. */
      by?: string;
    }
  | { kind: 'package'; name: string; installed: boolean; by?: string }
  | { kind: 'service'; name: string; exists: boolean; running?: boolean; by?: string }
  | {
      kind: 'database';
      engine: DatabaseEngine;
      /** A database, or a user account (`name@host` for MySQL, the role name for PostgreSQL). */
      object: 'database' | 'user';
      name: string;
      state: 'present' | 'absent';
      /** Created by this task, so nothing is in it yet (no tables, no ledger rows). */
      fresh?: boolean;
      by?: string;
    }
  | { kind: 'unknown'; what: string; task: string };

export type DatabaseEngine = 'mysql' | 'postgresql';
export type DatabaseEffect = Extract<Effect, { kind: 'database' }>;

export type PathEffect = Extract<Effect, { kind: 'path' }>;

/** The effects planned so far on one host, newest last. Read-only for facts. */
export interface EffectView {
  path(path: string): PathEffect | undefined;
  /** The nearest ancestor directory with a recorded effect, if any. */
  ancestor(path: string): PathEffect | undefined;
  package(name: string): Extract<Effect, { kind: 'package' }> | undefined;
  service(name: string): Extract<Effect, { kind: 'service' }> | undefined;
  /** A database or database user planned by an earlier task. */
  database(engine: DatabaseEngine, object: DatabaseEffect['object'], name: string): DatabaseEffect | undefined;
  /** Packages planned to be installed so far, with the task that plans each. */
  installs(): readonly Extract<Effect, { kind: 'package' }>[];
}

function parentOf(p: string): string | undefined {
  if (p === '/' || !p.includes('/')) return undefined;
  const i = p.replace(/\/+$/, '').lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

// MySQL database names are case-sensitive on Linux, and so are PostgreSQL's (quoted): the key is exact.
const databaseKey = (engine: DatabaseEngine, object: string, name: string): string => `${engine}\0${object}\0${name}`;

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The engine's per-host store of planned effects. */
export class EffectStore implements EffectView {
  readonly #paths = new Map<string, PathEffect>();
  readonly #packages = new Map<string, Extract<Effect, { kind: 'package' }>>();
  readonly #services = new Map<string, Extract<Effect, { kind: 'service' }>>();
  readonly #databases = new Map<string, DatabaseEffect>();

  record(effect: Effect, by: string): void {
    switch (effect.kind) {
      case 'path': {
        // A change of mode or owner alone keeps what earlier tasks planned for the content.
        const before = this.#paths.get(effect.path);
        const keep = before && before.state === effect.state && effect.content === undefined && effect.sha256 === undefined && effect.size === undefined;
        effect = keep ? { ...before, ...withoutUndefined(effect), by } : { ...effect, by };
        if (effect.state === 'absent') {
          for (const key of [...this.#paths.keys()]) if (key.startsWith(effect.path + '/')) this.#paths.delete(key);
        }
        this.#paths.set(effect.path, effect);
        return;
      }
      case 'package':
        this.#packages.set(effect.name, { ...effect, by });
        return;
      case 'service':
        this.#services.set(effect.name, { ...effect, by });
        return;
      case 'database':
        this.#databases.set(databaseKey(effect.engine, effect.object, effect.name), { ...effect, by });
        return;
      case 'unknown':
        return;
    }
  }

  path(path: string): PathEffect | undefined {
    return this.#paths.get(path);
  }

  ancestor(path: string): PathEffect | undefined {
    for (let p = parentOf(path); p !== undefined; p = parentOf(p)) {
      const found = this.#paths.get(p);
      if (found) return found;
    }
    return undefined;
  }

  package(name: string): Extract<Effect, { kind: 'package' }> | undefined {
    return this.#packages.get(name);
  }

  service(name: string): Extract<Effect, { kind: 'service' }> | undefined {
    return this.#services.get(name);
  }

  database(engine: DatabaseEngine, object: DatabaseEffect['object'], name: string): DatabaseEffect | undefined {
    return this.#databases.get(databaseKey(engine, object, name));
  }

  installs(): readonly Extract<Effect, { kind: 'package' }>[] {
    return [...this.#packages.values()].filter((p) => p.installed);
  }
}

export { parentOf };
