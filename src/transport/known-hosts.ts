import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * known_hosts parsing and lookup, following OpenSSH's sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT".
 * Pure: no file access, so the rules can be tested line by line.
 */

export type KnownHostsMarker = 'cert-authority' | 'revoked';

export type HostPatterns =
  | { kind: 'patterns'; patterns: string[] }
  /** `|1|salt|hmac`: HMAC-SHA1 of the host name (as looked up) keyed with the salt. */
  | { kind: 'hashed'; salt: Buffer; hash: Buffer };

export interface KnownHostsEntry {
  /** 1-based line number in the file, for messages that tell the user which line to remove. */
  line: number;
  marker?: KnownHostsMarker;
  hosts: HostPatterns;
  keyType: string;
  keyBase64: string;
  comment?: string;
}

export type HostKeyCheck =
  | { kind: 'match'; line: number }
  /** `otherKeys`: lines for this host holding keys of other types (the server offered a type we do not know). */
  | { kind: 'unknown'; otherKeys: { line: number; keyType: string }[] }
  | { kind: 'changed'; line: number; keyType: string }
  | { kind: 'revoked'; line: number };

/** The name a host is filed under: the plain host for port 22, `[host]:port` otherwise (as OpenSSH writes it). */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** A line to append for a newly accepted key, without the trailing newline. */
export function knownHostsLine(host: string, port: number, keyType: string, keyBase64: string): string {
  return `${knownHostsName(host, port)} ${keyType} ${keyBase64}`;
}

/** Parses known_hosts text; malformed lines are skipped, as ssh does. */
export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const entry = parseLine(lines[i] ?? '', i + 1);
    if (entry) entries.push(entry);
  }
  return entries;
}

function parseLine(raw: string, line: number): KnownHostsEntry | undefined {
  const text = raw.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  const fields = text.split(/[ \t]+/);
  let marker: KnownHostsMarker | undefined;
  if (fields[0]?.startsWith('@')) {
    const name = fields.shift();
    if (name === '@cert-authority') marker = 'cert-authority';
    else if (name === '@revoked') marker = 'revoked';
    // An unknown marker means a newer format we cannot judge; ssh skips such lines too.
    else return undefined;
  }
  const [hostField, keyType, keyBase64, ...rest] = fields;
  if (hostField === undefined || keyType === undefined || keyBase64 === undefined) return undefined;
  // Old SSH1 RSA lines ("host bits exponent modulus") have a number where the type goes.
  if (/^\d+$/.test(keyType)) return undefined;
  const hosts = parseHosts(hostField);
  if (!hosts) return undefined;
  const entry: KnownHostsEntry = { line, hosts, keyType, keyBase64 };
  if (marker) entry.marker = marker;
  if (rest.length > 0) entry.comment = rest.join(' ');
  return entry;
}

function parseHosts(field: string): HostPatterns | undefined {
  if (field.startsWith('|')) {
    const parts = field.split('|');
    // "", "1", salt, hash: only the SHA1 scheme (1) exists.
    if (parts.length !== 4 || parts[1] !== '1') return undefined;
    const salt = Buffer.from(parts[2] ?? '', 'base64');
    const hash = Buffer.from(parts[3] ?? '', 'base64');
    if (salt.length === 0 || hash.length !== 20) return undefined;
    return { kind: 'hashed', salt, hash };
  }
  const patterns = field.split(',').filter((p) => p !== '');
  return patterns.length > 0 ? { kind: 'patterns', patterns } : undefined;
}

/** Whether an entry applies to `name` (a result of knownHostsName). A negated pattern that matches excludes the line. */
export function entryMatchesHost(hosts: HostPatterns, name: string): boolean {
  const lower = name.toLowerCase();
  if (hosts.kind === 'hashed') {
    const mac = createHmac('sha1', hosts.salt).update(lower).digest();
    return mac.length === hosts.hash.length && timingSafeEqual(mac, hosts.hash);
  }
  let positive = false;
  for (const pattern of hosts.patterns) {
    const negated = pattern.startsWith('!');
    const body = (negated ? pattern.slice(1) : pattern).toLowerCase();
    if (!globMatch(body, lower)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/** OpenSSH's match_pattern: `*` any run (also empty), `?` exactly one character, nothing else special. */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starT = t;
    } else if (pc !== undefined && (pc === '?' || pc === text[t])) {
      p++;
      t++;
    } else if (starP >= 0) {
      // Backtrack: let the last star swallow one more character.
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

function sameKey(a: string, b: string): boolean {
  // Compare bytes, not text: padding or line-wrapping differences must not read as a changed key.
  const x = Buffer.from(a, 'base64');
  const y = Buffer.from(b, 'base64');
  return x.length > 0 && x.equals(y);
}

/**
 * Looks a server's key up the way ssh does: a revoked key loses even against a matching line; any
 * matching line wins over a same-type line with another key (several keys per host are allowed);
 * a same-type mismatch is "changed"; keys of other types only leave the host "unknown".
 * `@cert-authority` lines are ignored: host certificates are not supported.
 */
export function checkHostKey(
  text: string,
  host: string,
  port: number,
  keyType: string,
  keyBase64: string,
): HostKeyCheck {
  const name = knownHostsName(host, port);
  let match: number | undefined;
  let changed: number | undefined;
  const otherKeys: { line: number; keyType: string }[] = [];
  for (const entry of parseKnownHosts(text)) {
    if (entry.marker === 'cert-authority') continue;
    if (!entryMatchesHost(entry.hosts, name)) continue;
    if (entry.marker === 'revoked') {
      if (sameKey(entry.keyBase64, keyBase64)) return { kind: 'revoked', line: entry.line };
      continue;
    }
    if (entry.keyType !== keyType) {
      otherKeys.push({ line: entry.line, keyType: entry.keyType });
    } else if (sameKey(entry.keyBase64, keyBase64)) {
      match ??= entry.line;
    } else {
      changed ??= entry.line;
    }
  }
  if (match !== undefined) return { kind: 'match', line: match };
  if (changed !== undefined) return { kind: 'changed', line: changed, keyType };
  return { kind: 'unknown', otherKeys };
}

/** Key types on file for a host, so the handshake can prefer them (as ssh orders HostKeyAlgorithms). */
export function knownKeyTypes(text: string, host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  const types: string[] = [];
  for (const entry of parseKnownHosts(text)) {
    if (entry.marker !== undefined || !entryMatchesHost(entry.hosts, name)) continue;
    if (!types.includes(entry.keyType)) types.push(entry.keyType);
  }
  return types;
}
