/**
 * SQL quoting and the `mysql` / `psql` command lines shared by the database and sqlScripts modules
 * and their facts.
 *
 * Every value that reaches SQL text goes through `sqlIdent` or `sqlString`; every SQL text that reaches a
 * command line goes through the `sh` tag. Passwords reach neither: SQL holding one travels on stdin, and a
 * login password is handed to the client as MYSQL_PWD / PGPASSWORD, which the engine delivers over stdin.
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import type { DatabaseEngine } from '../facts/effects.js';
import { raw, sh, type Shell } from '../shell/quote.js';
import { isSecret, Secret } from '../shell/secret.js';

export type { DatabaseEngine } from '../facts/effects.js';

/** How the client logs in to the server. */
export interface SqlLogin {
  /** Default: MySQL's `root` through the unix socket as OS root; PostgreSQL's `postgres` by peer auth. */
  user?: string;
  password?: Secret;
}

export const ENGINE_LABEL: Readonly<Record<DatabaseEngine, string>> = { mysql: 'MySQL/MariaDB', postgresql: 'PostgreSQL' };

// Backslashes are escapes in MySQL literals unless the server runs with NO_BACKSLASH_ESCAPES; every
// session of ours turns that mode off first, so the escaping below means the same on any server.
export const MYSQL_SESSION = "SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','));";

function noNul(value: string): string {
  if (value.includes('\0')) throw new TypeError('SQL names and strings cannot hold a NUL character');
  return value;
}

/** `name` for MySQL: backticks, an inner backtick doubled. */
export const mysqlIdent = (name: string): string => '`' + noNul(name).replace(/`/g, '``') + '`';

/** 'text' for MySQL (with backslash escapes on, see MYSQL_SESSION). */
export function mysqlString(value: string): string {
  const escaped = noNul(value).replace(/[\\'\n\r\x1a]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\x1a': '\\Z' })[c]!);
  return `'${escaped}'`;
}

/** "name" for PostgreSQL: double quotes, an inner one doubled (case is kept). */
export const pgIdent = (name: string): string => '"' + noNul(name).replace(/"/g, '""') + '"';

/** 'text' for PostgreSQL; E'…' when it holds a backslash, so standard_conforming_strings cannot change its meaning. */
export function pgString(value: string): string {
  noNul(value);
  if (!value.includes('\\')) return `'${value.replace(/'/g, "''")}'`;
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export const sqlIdent = (engine: DatabaseEngine, name: string): string => (engine === 'mysql' ? mysqlIdent(name) : pgIdent(name));
export const sqlString = (engine: DatabaseEngine, value: string): string => (engine === 'mysql' ? mysqlString(value) : pgString(value));

/**
 * PostgreSQL's SCRAM-SHA-256 verifier of a password, so that CREATE ROLE carries no plaintext (the
 * server logs a failed statement, and log_statement may log every DDL). Undefined for anything but
 * printable ASCII, which PostgreSQL's SASLprep may change: such a password is sent as it is.
 */
export function scramVerifier(password: string, salt: Buffer, iterations = 4096): string | undefined {
  if (!/^[\x20-\x7e]+$/.test(password)) return undefined;
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const hmac = (text: string): Buffer => createHmac('sha256', salted).update(text).digest();
  const stored = createHash('sha256').update(hmac('Client Key')).digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${stored.toString('base64')}:${hmac('Server Key').toString('base64')}`;
}

/** A MySQL account as `'user'@'host'`. */
export const mysqlAccount = (user: string, host: string): string => `${mysqlString(user)}@${mysqlString(host)}`;

/**
 * A database name in a MySQL GRANT: `_` and `%` are wildcards there, so they are escaped to grant on
 * exactly this database (information_schema shows the name the same way).
 */
export const mysqlGrantName = (name: string): string => name.replace(/[_%]/g, (c) => `\\${c}`);

/** Why a name cannot be used, or undefined. */
export function nameProblem(what: string, value: string, engine: DatabaseEngine, max: number): string | undefined {
  if (value === '') return `${what} must not be empty`;
  if (/[\x00-\x1f\x7f]/.test(value)) return `${what} ${JSON.stringify(value)} holds a control character`;
  if (Buffer.byteLength(value) > max) return `${what} ${JSON.stringify(value)} is longer than ${max} bytes (the ${ENGINE_LABEL[engine]} limit)`;
  return undefined;
}

export function databaseNameProblem(engine: DatabaseEngine, name: string): string | undefined {
  const problem = nameProblem('database name', name, engine, engine === 'mysql' ? 64 : 63);
  if (problem) return problem;
  // MySQL keeps a database as a directory: these make names that the server mangles or refuses.
  if (engine === 'mysql' && (/[/\\.]/.test(name) || name.endsWith(' '))) {
    return `database name ${JSON.stringify(name)} cannot hold "/", "\\" or "." nor end with a space in MySQL`;
  }
  return undefined;
}

/** Charset and collation names are put into SQL as words, so only word characters pass. */
export const wordProblem = (what: string, value: string): string | undefined =>
  /^[A-Za-z0-9_]+$/.test(value) ? undefined : `${what} ${JSON.stringify(value)} must be a name such as latin1 or utf8mb4_bin`;

export function toSecret(value: string | Secret | undefined, source: string): Secret | undefined {
  if (value === undefined) return undefined;
  return isSecret(value) ? value : new Secret(value, source);
}

/**
 * Defines the shell function `sqlc` (or `name`): the client with our fixed options, logged in as
 * `login` says. Arguments are passed on (`-e SQL`, `--database=…`, `-c SQL`, `-d db`); with none it reads
 * SQL from stdin. Output is tab-separated rows without headers, for parsers. A MySQL session of ours
 * starts with MYSQL_SESSION; a session for a user's script (`ourSession: false`) is left as the server sets it.
 */
export function clientFunction(engine: DatabaseEngine, login: SqlLogin, options: { name?: string; ourSession?: boolean } = {}): Shell {
  const name = raw(options.name ?? 'sqlc');
  if (engine === 'mysql') {
    const user = login.user !== undefined ? sh` ${`--user=${login.user}`}` : raw('');
    // MariaDB's client echoes a failed statement to stderr, which for CREATE USER holds the password;
    // "loose" so that a MySQL client, which has no such option, only warns.
    const init = options.ourSession === false ? raw('') : sh` --loose-skip-print-query-on-error ${`--init-command=${MYSQL_SESSION}`}`;
    // Without -p the client never prompts: a password comes only from MYSQL_PWD.
    return sh`${name}() { mysql --batch --skip-column-names --default-character-set=utf8mb4${user}${init} "$@"; }`;
  }
  const psql = sh`psql -X -q -w -A -t -F ${'\t'} -v ON_ERROR_STOP=1`;
  if (login.password) {
    // Debian's pg_hba.conf takes peer auth on the socket for every user; a password needs TCP.
    return sh`${name}() { ${psql} -h 127.0.0.1 -U ${login.user ?? 'postgres'} "$@"; }`;
  }
  const osUser = login.user ?? 'postgres';
  // Peer auth: run psql as the OS user of the same name; from / because it may not read root's home.
  return sh`${name}() {
  if [ "$(id -u)" = 0 ] && [ "$(id -un)" != ${osUser} ]; then (cd / && exec runuser -u ${osUser} -- ${psql} "$@")
  else ${psql} "$@"; fi
}`;
}

/** The environment a client needs: the login password, delivered over stdin by the engine. */
export function clientEnv(engine: DatabaseEngine, login: SqlLogin): Record<string, Secret> {
  if (!login.password) return {};
  return engine === 'mysql' ? { MYSQL_PWD: login.password } : { PGPASSWORD: login.password };
}

/** Arguments that point `sqlc` at a database. */
export const databaseArgs = (engine: DatabaseEngine, database: string): Shell =>
  engine === 'mysql' ? sh`${`--database=${database}`}` : sh`-d ${database}`;

/** Arguments that run one SQL text (several statements, each with its own rows). */
export function queryArgs(engine: DatabaseEngine, statements: readonly string[]): Shell {
  if (engine === 'mysql') return sh`-e ${statements.join('\n')}`;
  // psql shows only the last result of a multi-statement -c, so each statement gets its own.
  return sh`${statements.flatMap((s) => ['-c', s])}`;
}

/**
 * For facts: defines `sqlrun`, which runs `sqlc` and keeps its output (stdout and stderr) in $out; when
 * the client fails it prints why (server=down|denied|no-server|error, error=…) and ends the fact with
 * exit 0, since a fact reports states rather than failing. Also prints server=no-client and ends when
 * there is no client at all.
 */
export function probeFunctions(engine: DatabaseEngine, login: SqlLogin): Shell {
  const client = engine === 'mysql' ? 'mysql' : 'psql';
  const classify =
    engine === 'mysql'
      ? raw(`*"ERROR 2002"*|*"ERROR 2003"*|*"ERROR 2013"*|*"Can't connect"*) s=down ;;
    *"ERROR 1045"*|*"ERROR 1698"*|*"ERROR 1044"*|*"Access denied"*) s=denied ;;`)
      : raw(`*"runuser: user"*) s=no-server ;;
    *"authentication failed"*|*"no password supplied"*|*"role \\""*"\\" does not exist"*|*"permission denied"*) s=denied ;;
    *"Is the server running"*|*"Connection refused"*|*"No such file or directory"*) s=down ;;`);
  return sh`${clientFunction(engine, login)}
if ! command -v ${client} >/dev/null 2>&1; then echo server=no-client; exit 0; fi
sqlrun() {
  out=$(sqlc "$@" 2>&1) && return 0
  case $out in
    ${classify}
    *) s=error ;;
  esac
  echo "server=$s"
  printf 'error=%s\\n' "$(printf '%s' "$out" | tr '\\n\\t' '  ' | cut -c1-400)"
  exit 0
}`;
}

/** The server's state as the probe reported it. */
export type ServerState = 'up' | 'no-client' | 'no-server' | 'down' | 'denied' | 'error';

/** Splits fact output into key=value lines and tab-separated rows keyed by their first column. */
export function parseProbeOutput(stdout: string): { server: ServerState; error?: string; rows: string[][] } {
  let server: ServerState | undefined;
  let error: string | undefined;
  const rows: string[][] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('server=')) server = line.slice('server='.length) as ServerState;
    else if (line.startsWith('error=')) error = line.slice('error='.length).trim();
    else if (line.includes('\t') || /^[a-z]+$/.test(line)) rows.push(line.split('\t'));
  }
  // No verdict line means the fact script was cut short: report it rather than guess "up".
  return { server: server ?? 'error', ...(error !== undefined ? { error } : server ? {} : { error: 'no output from the database client' }), rows };
}

/** Packages whose installation brings the server for an engine (for dry-runs on fresh hosts). */
export const SERVER_PACKAGES: Readonly<Record<DatabaseEngine, RegExp>> = {
  mysql: /^(default-mysql-server|mariadb-server|mysql-server|percona-server-server)(-[0-9.]+)?$/,
  postgresql: /^postgresql(-[0-9.]+)?$/,
};

export const SERVER_SERVICES: Readonly<Record<DatabaseEngine, readonly string[]>> = {
  mysql: ['mariadb', 'mysql', 'mysqld'],
  postgresql: ['postgresql'],
};

/** Decodes a hex column (names and errors travel as hex, so tabs and newlines cannot break rows). */
export const fromHex = (hex: string): string => Buffer.from(hex, 'hex').toString('utf8');

/** A TaskFailure message for a server that cannot be asked. */
export function serverProblem(engine: DatabaseEngine, server: ServerState, error: string | undefined, login: SqlLogin): string {
  const label = ENGINE_LABEL[engine];
  const detail = error ? `: ${error}` : '';
  switch (server) {
    case 'no-client':
      return `the ${engine === 'mysql' ? 'mysql' : 'psql'} client is not installed on the host; install ${engine === 'mysql' ? 'mariadb-server (or mariadb-client for a remote server)' : 'postgresql'} in an earlier task`;
    case 'no-server':
      return login.user !== undefined
        ? `there is no OS user ${login.user} to log in as by peer authentication; give loginPassword to log in over TCP${detail}`
        : `${label} is not installed on the host (no OS user postgres)${detail}`;
    case 'down':
      return `the ${label} server is not running or not reachable${detail}; start it in an earlier task (service ${engine === 'mysql' ? 'mariadb' : 'postgresql'} start)`;
    case 'denied':
      return `${label} refused the login as ${login.user ?? (engine === 'mysql' ? 'root' : 'postgres')}${detail}; set loginUser/loginPassword, or run the task as root (become)`;
    case 'error':
    case 'up':
      return `${label} query failed${detail}`;
  }
}
