/**
 * The ledger of sqlScripts: one row per script run in a database, so that each runs exactly once.
 *
 * A script runs in three client sessions: the first commits a 'running' row, the second runs the
 * script (its SQL is the step's stdin), the third marks the row 'applied', or 'failed' with the tail of
 * the client's error. MySQL commits each DDL statement on its own, so a script that fails halfway leaves
 * part of it behind: the committed 'running' row is what tells a later run so, even when the connection
 * died and nothing could mark the row 'failed'.
 */
import { LEDGER_TABLE } from '../facts/database.js';
import { raw, sh, type Shell } from '../shell/quote.js';
import { clientFunction, databaseArgs, pgIdent, sqlString, type DatabaseEngine, type SqlLogin } from './sql-client.js';

export { LEDGER_TABLE };

/** How much of the client's error output is kept in the ledger row. */
export const ERROR_TAIL_BYTES = 2000;

function createTable(engine: DatabaseEngine): string {
  if (engine === 'mysql') {
    // utf8mb4 whatever the database's default (WSO2's are latin1): script names may be any text.
    return `CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (name VARCHAR(255) NOT NULL PRIMARY KEY, sha256 CHAR(64) NOT NULL, status VARCHAR(16) NOT NULL, started_at DATETIME(6) NOT NULL, finished_at DATETIME(6) NULL, error TEXT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;`;
  }
  return `CREATE TABLE IF NOT EXISTS public.${LEDGER_TABLE} (name varchar(255) PRIMARY KEY, sha256 char(64) NOT NULL, status varchar(16) NOT NULL, started_at timestamptz NOT NULL, finished_at timestamptz, error text);`;
}

const table = (engine: DatabaseEngine): string => (engine === 'mysql' ? LEDGER_TABLE : `public.${LEDGER_TABLE}`);
const now = (engine: DatabaseEngine): string => (engine === 'mysql' ? 'UTC_TIMESTAMP(6)' : 'clock_timestamp()');

/** The statements around one script run. `fail` is split where the shell puts the hex of the error. */
export function ledgerStatements(engine: DatabaseEngine, name: string, sha256: string): { begin: string; done: string; failHead: string; failTail: string } {
  const t = table(engine);
  const where = `WHERE name = ${sqlString(engine, name)}`;
  // The hex holds only [0-9a-f] and the shell builds it from printable ASCII, so it is safe in SQL.
  const decode = engine === 'mysql' ? ["CONVERT(UNHEX('", "') USING utf8mb4)"] : ["convert_from(decode('", "', 'hex'), 'UTF8')"];
  return {
    begin: `${createTable(engine)}\nINSERT INTO ${t} (name, sha256, status, started_at) VALUES (${sqlString(engine, name)}, '${sha256}', 'running', ${now(engine)});`,
    done: `UPDATE ${t} SET status = 'applied', finished_at = ${now(engine)}, error = NULL ${where} AND status = 'running';`,
    failHead: `UPDATE ${t} SET status = 'failed', finished_at = ${now(engine)}, error = ${decode[0]}`,
    failTail: `${decode[1]} ${where};`,
  };
}

/** The SQL, for a human to paste, that marks a script applied after finishing it by hand. */
export function markAppliedSql(engine: DatabaseEngine, name: string): string {
  return `UPDATE ${table(engine)} SET status = 'applied', finished_at = ${now(engine)} WHERE name = ${sqlString(engine, name)};`;
}

/** The SQL that forgets a script's row, so that the next run runs it again. */
export function forgetSql(engine: DatabaseEngine, name: string): string {
  return `DELETE FROM ${table(engine)} WHERE name = ${sqlString(engine, name)};`;
}

export interface ScriptRun {
  engine: DatabaseEngine;
  database: string;
  login: SqlLogin;
  name: string;
  sha256: string;
  /** PostgreSQL: SET ROLE before the script, so that this role owns what it creates. */
  role?: string;
}

/**
 * The shell of one script run; its stdin is the script. Exits with the client's code when the script
 * fails, after recording the failure.
 */
export function scriptRunCommand(run: ScriptRun): Shell {
  const { engine } = run;
  const sql = ledgerStatements(engine, run.name, run.sha256);
  const db = databaseArgs(engine, run.database);
  // mysql stops at the first error when its SQL comes from a pipe (no --force); psql needs
  // ON_ERROR_STOP (set by sqlc), and runs the script as one transaction.
  const script =
    engine === 'mysql'
      ? sh`sqls ${db}`
      : sh`sqls ${db} --single-transaction ${run.role !== undefined ? ['-c', `SET ROLE ${pgIdent(run.role)}`] : []} -f -`;
  return sh`${clientFunction(engine, run.login)}
${engine === 'mysql' ? clientFunction(engine, run.login, { name: 'sqls', ourSession: false }) : raw('sqls() { sqlc "$@"; }')}
ledger_begin=${sql.begin}
ledger_done=${sql.done}
ledger_fail_head=${sql.failHead}
ledger_fail_tail=${sql.failTail}
printf '%s\\n' "$ledger_begin" | sqlc ${db} || { echo ${`cannot record the start of ${run.name} in the ledger`} >&2; exit 1; }
errors=$(mktemp) || exit 1
trap 'rm -f -- "$errors"' EXIT
${script} 2>"$errors"
rc=$?
cat -- "$errors" >&2
if [ "$rc" -eq 0 ]; then
  printf '%s\\n' "$ledger_done" | sqlc ${db} || { echo ${`${run.name} ran, but marking it applied failed: its ledger row stays 'running'`} >&2; exit 1; }
  exit 0
fi
hex=$(tail -c ${ERROR_TAIL_BYTES} -- "$errors" | LC_ALL=C tr -cd '\\11\\12\\40-\\176' | od -An -v -tx1 | tr -d ' \\n')
printf '%s%s%s\\n' "$ledger_fail_head" "$hex" "$ledger_fail_tail" | sqlc ${db} || echo ${`marking ${run.name} failed in the ledger failed too`} >&2
# Last, so that it is the line a failure report shows (psql ends with a caret line under the statement).
summary=$(grep -E 'ERROR|FATAL' -- "$errors" | tail -n 1)
printf '%s failed: %s\\n' ${run.name} "\${summary:-exit code $rc}" >&2
exit "$rc"`;
}
