import { existsSync } from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { isPlaybook } from '../playbook/define.js';
import { PlaybookError } from '../playbook/errors.js';
import type { Playbook } from '../playbook/types.js';
import { UsageError } from '../engine/errors.js';
import { displayPath } from '../util/display-path.js';
import { typecheckPlaybook } from './typecheck.js';

const PACKAGE = 'is-provision';
// Resolution hooks are process-wide; this marks that this process has them already.
const REGISTERED = Symbol.for('is-provision.self-resolution');

/**
 * Playbooks import from 'is-provision' wherever they live, also outside any project that has it in
 * node_modules: the resolve hook maps the package name to this very copy. It also loads .ts files
 * as ES modules wherever they are, since tsx would otherwise run a playbook outside a
 * `"type": "module"` package as CommonJS, with no source map and so no true line numbers in errors.
 */
function registerSelfResolution(): void {
  const flags = globalThis as Record<symbol, unknown>;
  if (flags[REGISTERED]) return;
  flags[REGISTERED] = true;
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const target = new URL(`../index${extension}`, import.meta.url);
  const hook = `export async function resolve(specifier, context, next) {
  if (specifier === ${JSON.stringify(PACKAGE)}) return { url: ${JSON.stringify(target.href)}, shortCircuit: true };
  const resolved = await next(specifier, context);
  if (resolved.url.startsWith('file:') && /\\.m?ts(\\?|$)/.test(resolved.url) && !resolved.url.includes('/node_modules/')) {
    return { ...resolved, format: 'module' };
  }
  return resolved;
}`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  process.setSourceMapsEnabled(true);
}

function describeLoadError(file: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const located = /^(.*?):(\d+):(\d+): ERROR: (.*)$/m.exec(message);
  if (located) return `${displayPath(located[1]!)}:${located[2]}:${located[3]}: ${located[4]}`;
  const first = message.split('\n')[0] ?? message;
  return `${file}: cannot load playbook: ${first}`;
}

/**
 * Loads a TypeScript (or JavaScript) playbook file, type-checked first unless told not to; any
 * problem is a UsageError naming the file.
 */
export async function loadPlaybook(file: string, options: { typecheck?: boolean } = {}): Promise<Playbook> {
  const full = path.resolve(file);
  if (!existsSync(full)) throw new UsageError(`${file}: playbook not found`);
  if (options.typecheck !== false && /\.[cm]?ts$/.test(full)) typecheckPlaybook(full);
  registerSelfResolution();
  let loaded: unknown;
  try {
    loaded = await tsImport(pathToFileURL(full).href, { parentURL: import.meta.url });
  } catch (error) {
    // By name: the playbook's copy of the authoring API may be another instance of this module.
    if (error instanceof PlaybookError || (error as Error)?.name === 'PlaybookError') {
      throw new UsageError((error as Error).message, { cause: error });
    }
    throw new UsageError(describeLoadError(file, error), { cause: error });
  }
  // tsx may hand back the module namespace wrapped once more as `default`.
  let value = (loaded as { default?: unknown }).default;
  if (value !== null && typeof value === 'object' && 'default' in value && !isPlaybook(value)) value = (value as { default: unknown }).default;
  if (!isPlaybook(value)) {
    throw new UsageError(`${file}: the default export is not a playbook (export default definePlaybook({ ... }))`);
  }
  return value;
}
