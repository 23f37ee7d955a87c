/**
 * `template`: renders a handlebars file on the control machine and puts the result on the host,
 * exactly as `copy` does (same comparison, atomic write, mode, owner, backup).
 *
 * Options:
 * - `src` (required): the .hbs file, relative to the playbook's directory (then its parent).
 * - `dest` (required): the file on the host.
 * - `vars`: extra values for the template, over the host's merged vars.
 * - `mode`, `owner`, `group`, `backup`: as for `copy`.
 *
 * Config files are not HTML: nothing is escaped. A variable the template uses but nobody set is an
 * error naming the template, line and variable, raised before anything runs on any host.
 *
 * @example
 * template({ src: 'templates/app.conf.hbs', dest: '/opt/app/app.conf', vars: { port: 8080 }, notify: 'reload app' })
 */
import Handlebars from 'handlebars';
import { PlaybookError } from '../playbook/errors.js';
import { buildTask } from '../playbook/define.js';
import type { OptionsSchema } from '../playbook/options.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import { revealAll } from '../shell/secret.js';
import { fileFact } from '../facts/file.js';
import { COPY_SCHEMA, contentPlan, decideFileContent, type FileContentPlan } from './copy.js';
import { defineModule } from './define.js';

export interface TemplateOptions {
  src: string;
  dest: string;
  vars?: Record<string, unknown>;
  mode?: string | number;
  owner?: string;
  group?: string;
  backup?: boolean;
}

const { content: _content, ...FILE_SCHEMA } = COPY_SCHEMA;
const SCHEMA: OptionsSchema = { ...FILE_SCHEMA, src: { type: 'string', required: true }, vars: { type: 'record' } };

/**
 * Dates become ISO text. Numbers stay numbers, so that `eq`, `#if` and `json` see them as they are;
 * the string joining is the compiler's job (see below).
 */
function stringifyScalars(value: unknown): unknown {
  if (typeof value === 'bigint') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(stringifyScalars);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stringifyScalars(v)]));
  }
  return value;
}

type Compiler = new () => { appendToBuffer(source: unknown, location: unknown, explicit: unknown): unknown };

/**
 * Handlebars under noEscape joins adjacent outputs with a bare `+`, so `{{a}}{{b}}` with 1 and 2 (or
 * two booleans) renders "3". This compiler makes every appended piece a string first.
 */
function stringJoiningCompiler(base: Compiler): Compiler {
  class StringJoining extends base {
    override appendToBuffer(source: unknown, location: unknown, explicit: unknown): unknown {
      return super.appendToBuffer(['"" + (', source, ')'], location, explicit);
    }
  }
  // Block programs are compiled by `new this.compiler()`: they must get the same fix.
  (StringJoining.prototype as unknown as { compiler: Compiler }).compiler = StringJoining;
  return StringJoining;
}

/** Renders a template text; errors name the template file, line and the missing variable. */
export function renderTemplate(text: string, file: string, vars: Record<string, unknown>, origin?: string): string {
  const handlebars = Handlebars.create();
  const internals = handlebars as unknown as { JavaScriptCompiler: Compiler };
  internals.JavaScriptCompiler = stringJoiningCompiler(internals.JavaScriptCompiler);
  handlebars.registerHelper('json', (value: unknown) => JSON.stringify(value));
  handlebars.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  handlebars.registerHelper('not', (a: unknown) => !a);
  try {
    const template = handlebars.compile(text, { noEscape: true, strict: true });
    return template(stringifyScalars(revealAll(vars)));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const missing = /^"(.+?)" not defined in .*? - (\d+):(\d+)/s.exec(message);
    if (missing) {
      throw new PlaybookError(`${file}:${missing[2]}:${Number(missing[3]) + 1}: template variable "${missing[1]}" is not defined`, origin);
    }
    const parse = /Parse error on line (\d+):\n([\s\S]*)/.exec(message);
    if (parse) {
      throw new PlaybookError(`${file}:${parse[1]}: template syntax error: ${parse[2]!.split('\n').pop()}`, origin);
    }
    throw new PlaybookError(`${file}: ${message.split('\n')[0]}`, origin);
  }
}

export const templateModule = defineModule<TemplateOptions, FileContentPlan, { dest: ReturnType<typeof fileFact> }>({
  name: 'template',
  schema: SCHEMA,
  describe: (o) => `template ${o.src} → ${o.dest}`,
  async prepare(o, context) {
    const file = context.resolveLocal(o.src);
    const text = (await context.readLocal(o.src)).toString('utf8');
    const rendered = renderTemplate(text, file, { ...context.vars, ...(o.vars ?? {}) }, context.origin);
    return contentPlan(o, Buffer.from(rendered));
  },
  facts: (plan) => ({ dest: fileFact({ path: plan.dest }) }),
  decide: (plan, facts, context) => decideFileContent(plan, facts.dest, context),
});

/** Renders a handlebars template and puts it on the host. See the module's TSDoc above. */
export function template(options: TemplateOptions & CommonOptions): Task<TemplateOptions> {
  return buildTask('template', SCHEMA, options, (o) =>
    o.dest.startsWith('/') ? undefined : `dest must be an absolute path, not ${JSON.stringify(o.dest)}`,
  );
}
