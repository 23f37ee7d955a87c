import { sh } from '../shell/quote.js';
import { defineFact, Unknowable } from './define.js';
import { parentOf, type EffectView } from './effects.js';

export type X509PathType = 'file' | 'absent' | 'other';

export interface X509CertState {
  type: X509PathType;
  /** Four octal digits, owner and group, for a file. */
  mode?: string;
  owner?: string;
  group?: string;
  /** The file is there but the login user cannot read it. */
  unreadable?: boolean;
  /** openssl read it as a certificate. */
  valid?: boolean;
  /** The subject's attributes in certificate order, short names (`CN`, `O`), UTF-8 values. */
  subject?: [type: string, value: string][];
  /** subjectAltName entries as openssl prints them: `DNS:a`, `IP Address:10.0.0.1`. */
  altNames?: string[];
  /** As openssl prints it: `Dec  5 14:07:48 2026 GMT`. */
  notAfter?: string;
  /** Already expired, by the host's clock. */
  expired?: boolean;
  /** Expires within the renewal window, by the host's clock. */
  expiresSoon?: boolean;
  /** RSA key size. */
  bits?: number;
  /** sha256 of the public key in PEM, for comparing with the private key's. */
  publicKey?: string;
}

export interface X509KeyState {
  type: X509PathType;
  mode?: string;
  owner?: string;
  group?: string;
  unreadable?: boolean;
  /** sha256 of the public key derived from the private key (PEM); absent when openssl cannot read the key. */
  publicKey?: string;
}

export interface X509Fact {
  openssl: boolean;
  cert: X509CertState;
  key: X509KeyState;
  /** Whether the directories of the cert and key exist. */
  certDir: boolean;
  keyDir: boolean;
  /** Answered from an earlier planned change rather than from the host. */
  planned?: string;
}

export interface X509FactArgs {
  cert: string;
  key: string;
  /** The renewal window: a cert expiring within it counts as expiring soon. */
  renewBeforeSeconds: number;
}

/*
 * Only hashes of public keys come back: the private key is read by openssl on the host and never
 * leaves it. Every openssl call reads stdin from /dev/null and gets an empty passphrase, so an
 * encrypted key fails instead of waiting for a prompt.
 */
function command({ cert, key, renewBeforeSeconds }: X509FactArgs) {
  return sh`c=${cert}
k=${key}
stat_of() { stat -L -c '%a %U %G' -- "$1" 2>/dev/null || stat -c '%a %U %G' -- "$1"; }
kind() { if [ -f "$1" ]; then echo file; elif [ -e "$1" ] || [ -L "$1" ]; then echo other; else echo absent; fi; }
if [ -d "$(dirname -- "$c")" ]; then echo certdir=yes; else echo certdir=no; fi
if [ -d "$(dirname -- "$k")" ]; then echo keydir=yes; else echo keydir=no; fi
if command -v openssl >/dev/null 2>&1; then echo openssl=yes; else echo openssl=no; fi
echo "cert=$(kind "$c")"
echo "key=$(kind "$k")"
if [ -f "$c" ]; then echo "cert.stat=$(stat_of "$c")"; fi
if [ -f "$k" ]; then echo "key.stat=$(stat_of "$k")"; fi
if command -v openssl >/dev/null 2>&1; then
  if [ -f "$c" ] && [ ! -r "$c" ]; then echo cert.unreadable=yes; fi
  if [ -f "$k" ] && [ ! -r "$k" ]; then echo key.unreadable=yes; fi
  if [ -f "$c" ] && [ -r "$c" ] && openssl x509 -in "$c" -noout </dev/null >/dev/null 2>&1; then
    echo cert.valid=yes
    openssl x509 -in "$c" -noout -subject -nameopt sep_multiline,sname,utf8,esc_ctrl </dev/null 2>/dev/null | sed -n 's/^    /cert.rdn=/p'
    openssl x509 -in "$c" -noout -ext subjectAltName </dev/null 2>/dev/null | sed -n 's/^    /cert.san=/p'
    echo "cert.$(openssl x509 -in "$c" -noout -enddate </dev/null 2>/dev/null)"
    if openssl x509 -in "$c" -noout -checkend 0 </dev/null >/dev/null 2>&1; then echo cert.expired=no; else echo cert.expired=yes; fi
    if openssl x509 -in "$c" -noout -checkend ${renewBeforeSeconds} </dev/null >/dev/null 2>&1; then echo cert.soon=no; else echo cert.soon=yes; fi
    if p=$(openssl x509 -in "$c" -noout -pubkey </dev/null 2>/dev/null); then
      echo "cert.pub=$(printf '%s\\n' "$p" | sha256sum | cut -d' ' -f1)"
      echo "cert.bits=$(printf '%s\\n' "$p" | openssl pkey -pubin -noout -text 2>/dev/null | sed -n 's/.*Public-Key: (\\([0-9]*\\) bit.*/\\1/p' | head -n 1)"
    fi
  elif [ -f "$c" ] && [ -r "$c" ]; then echo cert.valid=no; fi
  if [ -f "$k" ] && [ -r "$k" ] && p=$(openssl pkey -in "$k" -pubout -passin pass: </dev/null 2>/dev/null); then
    echo "key.pub=$(printf '%s\\n' "$p" | sha256sum | cut -d' ' -f1)"
  fi
fi`;
}

function fields(stdout: string): { one: Map<string, string>; many: Map<string, string[]> } {
  const one = new Map<string, string>();
  const many = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const name = line.slice(0, eq);
    const value = line.slice(eq + 1);
    one.set(name, value);
    many.set(name, [...(many.get(name) ?? []), value]);
  }
  return { one, many };
}

function stat(text: string | undefined): { mode?: string; owner?: string; group?: string } {
  const [mode, owner, group] = (text ?? '').split(' ');
  return { ...(mode ? { mode: mode.padStart(4, '0') } : {}), ...(owner ? { owner } : {}), ...(group ? { group } : {}) };
}

const pathType = (value: string | undefined): X509PathType => (value === 'file' || value === 'other' ? value : 'absent');

export function parseX509(stdout: string): X509Fact {
  const { one, many } = fields(stdout);
  const yes = (name: string) => one.get(name) === 'yes';
  const cert: X509CertState = { type: pathType(one.get('cert')), ...stat(one.get('cert.stat')) };
  if (yes('cert.unreadable')) cert.unreadable = true;
  if (one.has('cert.valid')) cert.valid = yes('cert.valid');
  if (cert.valid) {
    cert.subject = (many.get('cert.rdn') ?? []).map((rdn) => {
      const eq = rdn.indexOf('=');
      return [rdn.slice(0, eq), rdn.slice(eq + 1)];
    });
    cert.altNames = (many.get('cert.san') ?? []).flatMap((line) => line.split(', ')).filter(Boolean);
    const notAfter = one.get('cert.notAfter');
    if (notAfter) cert.notAfter = notAfter;
    cert.expired = yes('cert.expired');
    cert.expiresSoon = yes('cert.soon');
    const bits = Number(one.get('cert.bits'));
    if (bits > 0) cert.bits = bits;
    const pub = one.get('cert.pub');
    if (pub) cert.publicKey = pub;
  }
  const key: X509KeyState = { type: pathType(one.get('key')), ...stat(one.get('key.stat')) };
  if (yes('key.unreadable')) key.unreadable = true;
  const keyPub = one.get('key.pub');
  if (keyPub) key.publicKey = keyPub;
  return { openssl: yes('openssl'), cert, key, certDir: yes('certdir'), keyDir: yes('keydir') };
}

function fromEffects(args: X509FactArgs, effects: EffectView): X509Fact | Unknowable | undefined {
  for (const path of [args.cert, args.key]) {
    const own = effects.path(path);
    if (own) return new Unknowable(`${path} is written by "${own.by ?? 'an earlier task'}"`);
  }
  return undefined;
}

/** In a dry-run: openssl that a planned install brings, and directories that earlier tasks make or empty. */
function refine(value: X509Fact, args: X509FactArgs, effects: EffectView): X509Fact | Unknowable {
  if (!value.openssl) {
    const install = effects.package('openssl');
    if (install?.installed) return new Unknowable(`openssl is not installed yet; package openssl comes with "${install.by ?? 'an earlier task'}"`);
    return value;
  }
  const out = { ...value };
  for (const [path, side] of [[args.cert, 'cert'], [args.key, 'key']] as const) {
    const dir = parentOf(path);
    const made = dir === undefined ? undefined : effects.path(dir);
    const ancestor = effects.ancestor(path);
    if (made?.state === 'directory') out[side === 'cert' ? 'certDir' : 'keyDir'] = true;
    if (ancestor && (ancestor.state === 'absent' || (ancestor.state === 'directory' && ancestor.fresh))) {
      out[side] = { type: 'absent' };
      out.planned = `"${ancestor.by ?? 'an earlier task'}"`;
    }
  }
  return out;
}

/**
 * A certificate and its private key on the host: whether openssl is there, the cert's subject,
 * subjectAltName, end date and expiry (by the host's clock), key size, and whether the key's public
 * half matches the cert's, compared by hash. Only reads.
 */
export const x509Fact = defineFact<X509FactArgs, X509Fact>({
  id: 'x509',
  command,
  parse: (stdout) => parseX509(stdout),
  fromEffects,
  refine,
});
