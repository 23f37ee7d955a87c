/**
 * `x509`: a self-signed certificate and its RSA key, made on the host with openssl.
 *
 * Options:
 * - `key` (required): the private key file (PEM, unencrypted), mode 0600. It never leaves the host:
 *   only a hash of its public half is read back.
 * - `cert` (required): the certificate file (PEM), mode 0644.
 * - `subject` (required): `/CN=is.wso2.com/O=WSO2` (openssl's form, in certificate order) or
 *   `CN=is.wso2.com,O=WSO2` (RFC 4514, most specific first). Compared as a set of attributes,
 *   so either form matches the same certificate.
 * - `days`: validity of a new certificate; default 365.
 * - `bits`: RSA key size; default 2048.
 * - `renewBeforeDays`: make a new one when the certificate expires within this many days
 *   (by the host's clock); default 30. Must be less than `days`.
 * - `owner`, `group`: for both files; default: the user who writes them.
 * - `altNames`: subjectAltName entries: `DNS:is.wso2.com`, `IP:10.0.0.5`, or a bare name or
 *   address (DNS or IP by its form). Compared as a set; IPv6 addresses as openssl prints them.
 *
 * Nothing happens while the certificate exists, reads as one, has the subject, altNames and key
 * size asked for, matches the key and does not expire within `renewBeforeDays`; otherwise a new key
 * and certificate replace both (each written beside its target under umask 077 and renamed into
 * place, so the key is never readable by others, not even for an instant). Modes and owners that
 * drift are put back without a new key.
 *
 * @example
 * x509({ key: '/etc/nginx/ssl/is.key', cert: '/etc/nginx/ssl/is.crt', subject: '/CN=is.wso2.com', altNames: ['DNS:is.wso2.com'], days: 825 })
 */
import { isIP } from 'node:net';
import { x509Fact, type X509Fact } from '../facts/x509.js';
import type { Effect } from '../facts/effects.js';
import { buildTask } from '../playbook/define.js';
import type { OptionsSchema } from '../playbook/options.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import { join, raw, sh, type Shell } from '../shell/quote.js';
import { change, noop, TaskFailure, type Decision, type Step } from './decision.js';
import { defineModule, type DecideContext } from './define.js';

export interface X509Options {
  key: string;
  cert: string;
  subject: string;
  days?: number;
  bits?: number;
  renewBeforeDays?: number;
  owner?: string;
  group?: string;
  altNames?: string[];
}

const SCHEMA: OptionsSchema = {
  key: { type: 'string', required: true },
  cert: { type: 'string', required: true },
  subject: { type: 'string', required: true },
  days: { type: 'number' },
  bits: { type: 'number' },
  renewBeforeDays: { type: 'number' },
  owner: { type: 'string' },
  group: { type: 'string' },
  altNames: { type: 'strings' },
};

const KEY_MODE = '0600';
const CERT_MODE = '0644';
const DAY = 86400;

export type Rdn = [type: string, value: string];

/**
 * Splits on a separator that a backslash does not escape, unescaping the rest; with `hex`, `\XX`
 * is a byte (RFC 4514 writes non-ASCII UTF-8 so).
 */
function splitEscaped(text: string, separator: string, hex: boolean): string[] {
  const parts: string[] = [];
  let current = '';
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length > 0) current += Buffer.from(bytes).toString('utf8');
    bytes = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const byte = hex && c === '\\' ? /^[0-9A-Fa-f]{2}/.exec(text.slice(i + 1))?.[0] : undefined;
    if (byte) {
      bytes.push(parseInt(byte, 16));
      i += 2;
      continue;
    }
    flush();
    if (c === '\\' && i + 1 < text.length) current += text[++i]!;
    else if (c === separator) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  flush();
  parts.push(current);
  return parts;
}

/** A subject in certificate order, from `/CN=a/O=b` or `CN=a,O=b` (which lists the same attributes in reverse). */
export function parseSubject(subject: string): Rdn[] {
  const slash = subject.trim().startsWith('/');
  const parts = slash ? splitEscaped(subject.trim().slice(1), '/', false) : splitEscaped(subject, ',', true);
  const rdns = parts.map((part): Rdn => {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`subject ${JSON.stringify(subject)}: ${JSON.stringify(part)} is not TYPE=value`);
    return [part.slice(0, eq).trim(), slash ? part.slice(eq + 1) : part.slice(eq + 1).trim()];
  });
  return slash ? rdns : rdns.reverse();
}

const LONG_NAMES: Record<string, string> = {
  commonname: 'cn',
  organizationname: 'o',
  organizationalunitname: 'ou',
  countryname: 'c',
  stateorprovincename: 'st',
  localityname: 'l',
  streetaddress: 'street',
  domaincomponent: 'dc',
  userid: 'uid',
};

/** The attributes as a sorted set, so that order and the names' case and length do not matter. */
export function subjectKey(rdns: readonly Rdn[]): string {
  const types = rdns.map(([t, v]) => {
    const lower = t.toLowerCase();
    return `${LONG_NAMES[lower] ?? lower}=${v}`;
  });
  return JSON.stringify(types.sort());
}

/** openssl's `-subj` form: `/TYPE=value/...`, with `/`, `+` and `\` escaped. */
export function subjectArgument(rdns: readonly Rdn[]): string {
  return rdns.map(([t, v]) => `/${t}=${v.replace(/[\\/+]/g, (c) => `\\${c}`)}`).join('');
}

/** An IPv6 address as openssl prints it: eight groups in upper-case hex without leading zeros. */
function ipv6Groups(address: string): string {
  let text = address;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => parseInt(g, 16).toString(16).toUpperCase()).join(':');
}

/** `DNS:name` or `IP:address`, the form openssl's subjectAltName takes, normalised for comparing. */
export function normalizeAltName(name: string): string {
  const typed = /^(DNS|IP|email|URI|RID|dirName|otherName):(.*)$/i.exec(name);
  const type = typed ? (typed[1]!.toLowerCase() === 'email' ? 'email' : typed[1]!.length <= 3 ? typed[1]!.toUpperCase() : typed[1]!) : isIP(name) ? 'IP' : 'DNS';
  const value = typed ? typed[2]! : name;
  if (type === 'DNS') return `DNS:${value.toLowerCase()}`;
  if (type === 'IP' && isIP(value) === 6) return `IP:${ipv6Groups(value)}`;
  return `${type}:${value}`;
}

/** The certificate's entries, as openssl prints them, in the form the option takes. */
const certAltName = (entry: string): string => normalizeAltName(entry.replace(/^IP Address:/, 'IP:'));

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function notAfterDate(text: string | undefined): string {
  const time = text ? Date.parse(text) : NaN;
  return Number.isNaN(time) ? (text ?? 'an unknown date') : new Date(time).toISOString().slice(0, 10);
}

/** Why a new key and certificate are needed, or none when the current ones will do. */
export function renewReasons(o: X509Options, fact: X509Fact): string[] {
  const { cert, key } = fact;
  const reasons: string[] = [];
  if (cert.type === 'absent') reasons.push(`${o.cert} does not exist`);
  else if (cert.type !== 'file' || cert.valid === false) reasons.push(`${o.cert} is not a certificate openssl can read`);
  if (key.type === 'absent') reasons.push(`${o.key} does not exist`);
  else if (key.type !== 'file' || key.publicKey === undefined) reasons.push(`${o.key} is not an unencrypted private key openssl can read`);
  if (reasons.length > 0) return reasons;
  if (key.publicKey !== cert.publicKey) reasons.push(`${o.key} does not match ${o.cert}`);
  const subject = parseSubject(o.subject);
  if (subjectKey(subject) !== subjectKey(cert.subject ?? [])) reasons.push(`subject ${subjectArgument(cert.subject ?? [])} → ${subjectArgument(subject)}`);
  const wantNames = (o.altNames ?? []).map(normalizeAltName);
  const haveNames = (cert.altNames ?? []).map(certAltName);
  if (!sameSet(wantNames, haveNames)) reasons.push(`altNames ${haveNames.join(', ') || 'none'} → ${wantNames.join(', ') || 'none'}`);
  const bits = o.bits ?? 2048;
  if (cert.bits !== bits) reasons.push(`key size ${cert.bits ?? '?'} → ${bits} bits`);
  const until = notAfterDate(cert.notAfter);
  if (cert.expired) reasons.push(`${o.cert} expired on ${until}`);
  else if (cert.expiresSoon) reasons.push(`${o.cert} expires on ${until}, within ${o.renewBeforeDays ?? 30} days`);
  return reasons;
}

function ownerSpec(o: X509Options): string | undefined {
  return o.owner && o.group ? `${o.owner}:${o.group}` : o.owner ? o.owner : o.group ? `:${o.group}` : undefined;
}

/** The key and cert made beside their targets under umask 077, then renamed into place. */
export function createCommand(o: X509Options): Shell {
  const rdns = parseSubject(o.subject);
  const names = (o.altNames ?? []).map(normalizeAltName);
  const args: (string | number)[] = ['-days', o.days ?? 365, '-subj', subjectArgument(rdns)];
  if (names.length > 0) args.push('-addext', `subjectAltName=${names.join(',')}`);
  const owner = ownerSpec(o);
  return join(
    [
      raw('set -e'),
      sh`key=${o.key}`,
      sh`cert=${o.cert}`,
      raw('umask 077'),
      raw(`kt=$(mktemp "$(dirname -- "$key")/.is-provision.XXXXXXXX")`),
      raw(`ct=$(mktemp "$(dirname -- "$cert")/.is-provision.XXXXXXXX")`),
      raw(`trap 'rm -f -- "$kt" "$ct"' EXIT`),
      // openssl prints progress dots while it makes the key: keep its stderr for when it fails.
      sh`if ! err=$(openssl req -x509 -batch -utf8 -newkey ${`rsa:${o.bits ?? 2048}`} -nodes -keyout "$kt" -out "$ct" ${args} 2>&1 </dev/null); then printf '%s\\n' "$err" | grep -v '^[-.+*]*$' >&2; exit 1; fi`,
      sh`chmod ${KEY_MODE} "$kt"`,
      sh`chmod ${CERT_MODE} "$ct"`,
      ...(owner ? [sh`chown -- ${owner} "$kt" "$ct"`] : []),
      raw('mv -f -- "$kt" "$key"'),
      raw('mv -f -- "$ct" "$cert"'),
      raw('trap - EXIT'),
    ],
    '\n',
  );
}

function effects(o: X509Options): Effect[] {
  const owned = { ...(o.owner ? { owner: o.owner } : {}), ...(o.group ? { group: o.group } : {}) };
  return [
    { kind: 'path', path: o.key, state: 'file', mode: KEY_MODE, ...owned },
    { kind: 'path', path: o.cert, state: 'file', mode: CERT_MODE, ...owned },
  ];
}

/** chmod/chown where the files' attributes drifted. */
function attributeSteps(o: X509Options, fact: X509Fact): { steps: Step[]; changes: string[] } {
  const steps: Step[] = [];
  const changes: string[] = [];
  for (const [path, state, mode] of [[o.key, fact.key, KEY_MODE], [o.cert, fact.cert, CERT_MODE]] as const) {
    if (state.mode !== mode) {
      steps.push({ kind: 'exec', command: sh`chmod ${mode} -- ${path}` });
      changes.push(`${path} mode ${state.mode ?? '?'} → ${mode}`);
    }
    const owner = o.owner && o.owner !== state.owner ? o.owner : undefined;
    const group = o.group && o.group !== state.group ? o.group : undefined;
    if (owner || group) {
      steps.push({ kind: 'exec', command: sh`chown -- ${owner && group ? `${owner}:${group}` : owner ?? `:${group}`} ${path}` });
      changes.push(`${path} ${[owner ? `owner ${state.owner ?? '?'} → ${owner}` : '', group ? `group ${state.group ?? '?'} → ${group}` : ''].filter(Boolean).join(', ')}`);
    }
  }
  return { steps, changes };
}

export function decideX509(o: X509Options, fact: X509Fact, context: Pick<DecideContext, 'host'>): Decision {
  if (!fact.openssl) throw new TaskFailure(`openssl is not installed on ${context.host.name}: install it first (package openssl)`);
  if (fact.key.unreadable) throw new TaskFailure(`${o.key} cannot be read by ${context.host.name}'s login user: run the task with become: true`);
  if (fact.cert.unreadable) throw new TaskFailure(`${o.cert} cannot be read by ${context.host.name}'s login user: run the task with become: true`);
  const reasons = renewReasons(o, fact);
  const planned = fact.planned ? ` (as ${fact.planned} leaves it)` : '';
  if (reasons.length > 0) {
    for (const [path, dir] of [[o.cert, fact.certDir], [o.key, fact.keyDir]] as const) {
      if (!dir && !fact.planned) throw new TaskFailure(`cannot create ${path}: directory ${path.replace(/\/[^/]*$/, '') || '/'} does not exist`);
    }
    const fresh = fact.cert.type === 'absent' && fact.key.type === 'absent';
    const verb = fresh ? 'would create' : 'would replace';
    return change(`${verb} ${o.cert} and ${o.key}: ${reasons.join('; ')}${planned}`, [{ kind: 'exec', command: createCommand(o), label: `openssl req ${o.cert}` }], {
      effects: effects(o),
    });
  }
  const { steps, changes } = attributeSteps(o, fact);
  if (steps.length > 0) return change(changes.join('; '), steps, { effects: effects(o) });
  const names = (fact.cert.altNames ?? []).map(certAltName);
  return noop(
    `${o.cert} matches: subject ${subjectArgument(fact.cert.subject ?? [])}, altNames ${names.join(', ') || 'none'}, ${fact.cert.bits}-bit key ${o.key}, ` +
      `valid until ${notAfterDate(fact.cert.notAfter)} (more than ${o.renewBeforeDays ?? 30} days)${planned}`,
  );
}

const factsOf = (o: X509Options) => ({ x509: x509Fact({ cert: o.cert, key: o.key, renewBeforeSeconds: (o.renewBeforeDays ?? 30) * DAY }) });

export const x509Module = defineModule<X509Options, X509Options, ReturnType<typeof factsOf>>({
  name: 'x509',
  schema: SCHEMA,
  describe: (o) => `x509 ${o.cert} (${o.subject})`,
  facts: factsOf,
  decide: (o, facts, context) => decideX509(o, facts.x509, context),
});

function check(o: X509Options): string | undefined {
  for (const name of ['key', 'cert'] as const) {
    if (!o[name].startsWith('/')) return `${name} must be an absolute path, not ${JSON.stringify(o[name])}`;
  }
  if (o.key === o.cert) return 'key and cert must be different files';
  const whole = (name: 'days' | 'bits' | 'renewBeforeDays', min: number, max: number) => {
    const v = o[name];
    return v === undefined || (Number.isInteger(v) && v >= min && v <= max) ? undefined : `${name} must be a whole number from ${min} to ${max}`;
  };
  const range = whole('days', 1, 36500) ?? whole('bits', 1024, 16384) ?? whole('renewBeforeDays', 0, 36500);
  if (range) return range;
  const days = o.days ?? 365;
  const renew = o.renewBeforeDays ?? 30;
  if (renew >= days) return `renewBeforeDays (${renew}) must be less than days (${days}), or every run would make a new certificate`;
  try {
    if (parseSubject(o.subject).length === 0) return 'subject must name at least one attribute';
  } catch (error) {
    return (error as Error).message;
  }
  const bad = (o.altNames ?? []).find((n) => n === '' || /[,\n]/.test(n));
  if (bad !== undefined) return `altNames entry ${JSON.stringify(bad)} must be one non-empty name without commas`;
  const badIp = (o.altNames ?? []).find((n) => /^IP:/i.test(n) && !isIP(n.slice(3)));
  if (badIp !== undefined) return `altNames entry ${JSON.stringify(badIp)} is not an IP address`;
  return undefined;
}

/** A self-signed certificate and key, made on the host. See the module's TSDoc above. */
export function x509(options: X509Options & CommonOptions): Task<X509Options> {
  return buildTask('x509', SCHEMA, options, check);
}
