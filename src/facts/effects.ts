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
      mode?: string;
      owner?: string;
      group?: string;
      /** The task that planned it; filled in by the store. */
      by?: string;
    }
  | { kind: 'package'; name: string; installed: boolean; by?: string }
  | { kind: 'service'; name: string; exists: boolean; running?: boolean; by?: string }
  | { kind: 'unknown'; what: string; task: string };

export type PathEffect = Extract<Effect, { kind: 'path' }>;

/** The effects planned so far on one host, newest last. Read-only for facts. */
export interface EffectView {
  path(path: string): PathEffect | undefined;
  /** The nearest ancestor directory with a recorded effect, if any. */
  ancestor(path: string): PathEffect | undefined;
  package(name: string): Extract<Effect, { kind: 'package' }> | undefined;
  service(name: string): Extract<Effect, { kind: 'service' }> | undefined;
  /** Packages planned to be installed so far, with the task that plans each. */
  installs(): readonly Extract<Effect, { kind: 'package' }>[];
}

function parentOf(p: string): string | undefined {
  if (p === '/' || !p.includes('/')) return undefined;
  const i = p.replace(/\/+$/, '').lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** The engine's per-host store of planned effects. */
export class EffectStore implements EffectView {
  readonly #paths = new Map<string, PathEffect>();
  readonly #packages = new Map<string, Extract<Effect, { kind: 'package' }>>();
  readonly #services = new Map<string, Extract<Effect, { kind: 'service' }>>();

  record(effect: Effect, by: string): void {
    switch (effect.kind) {
      case 'path':
        effect = { ...effect, by };
        if (effect.state === 'absent') {
          for (const key of [...this.#paths.keys()]) if (key.startsWith(effect.path + '/')) this.#paths.delete(key);
        }
        this.#paths.set(effect.path, effect);
        return;
      case 'package':
        this.#packages.set(effect.name, { ...effect, by });
        return;
      case 'service':
        this.#services.set(effect.name, { ...effect, by });
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

  installs(): readonly Extract<Effect, { kind: 'package' }>[] {
    return [...this.#packages.values()].filter((p) => p.installed);
  }
}

export { parentOf };
