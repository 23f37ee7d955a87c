import { didYouMean } from '../util/did-you-mean.js';
import { PlaybookError } from './errors.js';
import { isSecret } from '../shell/secret.js';

/** The shape of one module option, checked when the playbook builds the task. */
export type OptionType =
  | 'string'
  | 'number'
  | 'boolean'
  | 'strings'
  | 'string-or-strings'
  | 'mode'
  | 'record'
  | 'secret-or-string'
  | 'any';

export interface OptionSpec {
  type: OptionType;
  required?: boolean;
  /** Allowed values of a string option. */
  values?: readonly string[];
}

export type OptionsSchema = Readonly<Record<string, OptionSpec>>;

function typeOk(spec: OptionSpec, value: unknown): boolean {
  switch (spec.type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'strings':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'string-or-strings':
      return typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
    case 'mode':
      return (typeof value === 'string' && /^0?[0-7]{3,4}$/.test(value)) || (typeof value === 'number' && value >= 0 && value <= 0o7777);
    case 'record':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'secret-or-string':
      return typeof value === 'string' || isSecret(value);
    case 'any':
      return true;
  }
}

const TYPE_WORDS: Record<OptionType, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  strings: 'an array of strings',
  'string-or-strings': 'a string or an array of strings',
  mode: 'an octal mode such as "0644"',
  record: 'an object',
  'secret-or-string': 'a string or a secret',
  any: 'any value',
};

/** Rejects unknown options by name, missing required ones and wrong types. */
export function validateOptions(
  module: string,
  schema: OptionsSchema,
  options: Record<string, unknown>,
  origin?: string,
): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new PlaybookError(`${module}: options must be an object`, origin);
  }
  for (const key of Object.keys(options)) {
    if (!(key in schema)) {
      throw new PlaybookError(`${module}: unknown option "${key}"${didYouMean(key, Object.keys(schema))}`, origin);
    }
  }
  for (const [key, spec] of Object.entries(schema)) {
    const value = options[key];
    if (value === undefined) {
      if (spec.required) throw new PlaybookError(`${module}: option "${key}" is required`, origin);
      continue;
    }
    if (!typeOk(spec, value)) {
      throw new PlaybookError(`${module}: option "${key}" must be ${TYPE_WORDS[spec.type]}`, origin);
    }
    if (spec.values && !spec.values.includes(value as string)) {
      const allowed = spec.values.map((v) => `"${v}"`).join(', ');
      throw new PlaybookError(`${module}: option "${key}" must be one of ${allowed}, not ${JSON.stringify(value)}`, origin);
    }
  }
}

/** "0644" for 0o644, "644" or "0644". */
export function normalizeMode(mode: string | number | undefined): string | undefined {
  if (mode === undefined) return undefined;
  const digits = typeof mode === 'number' ? mode.toString(8) : mode;
  return digits.padStart(4, '0').slice(-4);
}
