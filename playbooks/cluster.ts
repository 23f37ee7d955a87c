/**
 * WSO2 Identity Server 5.10.0 behind an NGINX load balancer, as WSO2's manual recipe does it:
 * certificate and NGINX config on the balancer, databases and IS's DB scripts on the db host, one IS
 * pack per node with its deployment.toml patched, then every node proven to serve through NGINX.
 *
 *   is-provision run playbooks/cluster.ts -i inventory/prod [--dry-run]
 *
 * Every var is documented in inventory/prod/hosts.toml. Hosts of the `is` group run one or more
 * nodes (`nodes = [{ name, offset, down? }]`), so one host can hold node1 and node2 (inventory/single).
 */
import {
  definePlaybook,
  database,
  file,
  flushHandlers,
  hostsEntry,
  line,
  packages,
  service,
  sqlScripts,
  template,
  toml,
  unarchive,
  waitFor,
  x509,
  type HostView,
  type InventoryView,
} from 'is-provision';

interface IsNode {
  name: string;
  offset: number;
  down?: boolean;
}

type Engine = 'mysql' | 'postgresql';

const PACK_DIR = 'wso2is-5.10.0';
const HTTPS_PORT = 9443;
/** /carbon/ answers 200, or on a real pack 302 to its login page. */
const CARBON_OK = [200, 302];
const DATABASES = { identity: 'IdentityDB', shared: 'SharedDB', user: 'PrimaryUserStore' } as const;

/** Which of the pack's DB scripts each database gets (WSO2 5.10 docs: changing-to-mysql, JDBC user store). */
const SCRIPTS = {
  [DATABASES.shared]: ['dbscripts/ENGINE.sql'],
  [DATABASES.identity]: ['dbscripts/identity/ENGINE.sql', 'dbscripts/identity/uma/ENGINE.sql', 'dbscripts/consent/ENGINE.sql'],
  [DATABASES.user]: ['dbscripts/ENGINE.sql'],
};

const nodesOf = (host: HostView): IsNode[] => (host.vars.nodes as unknown as IsNode[] | undefined) ?? [];
const nodeHome = (vars: Record<string, any>, node: IsNode) => `${vars.install_dir}/${node.name}/${PACK_DIR}`;
const engineOf = (vars: Record<string, any>): Engine => (vars.db_engine === 'postgresql' ? 'postgresql' : 'mysql');
const dbPort = (vars: Record<string, any>) => Number(vars.db_port ?? (engineOf(vars) === 'mysql' ? 3306 : 5432));

function dbHost(inventory: InventoryView): string {
  const [db] = inventory.hosts('db');
  if (!db) throw new Error('the inventory needs a host in the group "db"');
  return db.address;
}

function lbHost(inventory: InventoryView): string {
  const [lb] = inventory.hosts('lb');
  if (!lb) throw new Error('the inventory needs a host in the group "lb"');
  return lb.address;
}

/** The [database.*] table of deployment.toml for one database. */
function datasource(vars: Record<string, any>, inventory: InventoryView, name: string) {
  const engine = engineOf(vars);
  const url =
    engine === 'mysql'
      ? `jdbc:mysql://${dbHost(inventory)}:${dbPort(vars)}/${name}?useSSL=false`
      : `jdbc:postgresql://${dbHost(inventory)}:${dbPort(vars)}/${name}`;
  return {
    type: engine,
    url,
    username: vars.db_user,
    password: vars.db_password,
    driver: engine === 'mysql' ? 'com.mysql.jdbc.Driver' : 'org.postgresql.Driver',
  };
}

/** Each node's own service: the pack's start script, its pid file and log. */
function nodeService(vars: Record<string, any>, node: IsNode, state: 'started' | 'restarted') {
  const home = nodeHome(vars, node);
  return service({
    name: node.name,
    state,
    start: [`${home}/bin/wso2server.sh`, 'start'],
    stop: [`${home}/bin/wso2server.sh`, 'stop'],
    pidFile: `${home}/wso2carbon.pid`,
    cwd: home,
    // Started here (a node that was down): wait for it; restarted as a handler: notified by its changes.
    ...(state === 'started' ? { notify: `wait for ${node.name}` } : { listen: `restart ${node.name}` }),
  });
}

function nodeReady(vars: Record<string, any>, node: IsNode) {
  return waitFor({
    port: HTTPS_PORT + node.offset,
    timeout: Number(vars.is_start_timeout ?? 300),
    listen: [`restart ${node.name}`, `wait for ${node.name}`],
  });
}

export default definePlaybook({
  name: 'wso2is-cluster',
  vars: { db_charset: 'latin1', lb_ssl_dir: '/etc/nginx/ssl', cert_days: 365, is_prerequisites: ['unzip', 'procps', 'curl'] },
  plays: [
    {
      name: 'database',
      hosts: 'db',
      tasks: ({ vars }) => {
        const engine = engineOf(vars);
        const mysql = engine === 'mysql';
        const serverConf = mysql ? '/etc/mysql/mariadb.conf.d/50-server.cnf' : `/etc/postgresql/${vars.pg_version ?? 15}/main/postgresql.conf`;
        return [
          packages({ names: mysql ? ['mariadb-server', 'mariadb-client'] : ['postgresql', 'postgresql-client'] }),
          // The IS nodes connect from other hosts: listen beyond loopback.
          mysql
            ? line({ path: serverConf, regexp: '^#?bind-address', line: 'bind-address = 0.0.0.0', notify: 'restart database' })
            : line({ path: serverConf, regexp: '^#?listen_addresses', line: "listen_addresses = '*'", notify: 'restart database' }),
          !mysql &&
            line({
              path: `/etc/postgresql/${vars.pg_version ?? 15}/main/pg_hba.conf`,
              line: `host all ${vars.db_user} 0.0.0.0/0 scram-sha-256`,
              notify: 'restart database',
            }),
          service({ name: mysql ? 'mariadb' : 'postgresql', state: 'started', enabled: true }),
          flushHandlers(),
          ...Object.values(DATABASES).map((name) =>
            database({ engine, name, user: vars.db_user, password: vars.db_password, ...(mysql ? { charset: vars.db_charset } : {}) }),
          ),
          ...Object.entries(SCRIPTS).map(([db, scripts]) =>
            sqlScripts({
              engine,
              database: db,
              scripts: scripts.map((s) => {
                const entry = `${PACK_DIR}/${s.replace('ENGINE', engine)}`;
                return { name: entry, fromArchive: { archive: vars.pack, entry } };
              }),
            }),
          ),
        ];
      },
      handlers: ({ vars }) => [service({ name: engineOf(vars) === 'mysql' ? 'mariadb' : 'postgresql', state: 'restarted', listen: 'restart database' })],
    },
    {
      name: 'identity server nodes',
      hosts: 'is',
      // One host at a time: the nodes of the others keep serving behind the balancer while it rolls.
      serial: 1,
      tasks: ({ host, vars, inventory }) => [
        packages({ names: vars.is_prerequisites }),
        // The nodes reach the IS hostname through the balancer (on the balancer itself: loopback).
        hostsEntry({ ip: host.groups.includes('lb') ? '127.0.0.1' : lbHost(inventory), names: [vars.is_hostname] }),
        ...nodesOf(host).flatMap((node) => {
          const home = nodeHome(vars, node);
          return [
            file({ path: `${vars.install_dir}/${node.name}`, state: 'directory', mode: '0755' }),
            // A new pack replaces the node's directory: stop the node running from the old one first.
            unarchive({
              src: vars.pack,
              dest: `${vars.install_dir}/${node.name}`,
              beforeReplace: ['sh', '-c', 'if [ -x "$0" ]; then "$0" stop; fi', `${home}/bin/wso2server.sh`],
              notify: `restart ${node.name}`,
            }),
            toml({
              path: `${home}/repository/conf/deployment.toml`,
              set: {
                'server.hostname': vars.is_hostname,
                'server.offset': node.offset,
                'transport.https.properties.proxyPort': 443,
                'user_store': { type: 'database_unique_id' },
                'database.identity_db': datasource(vars, inventory, DATABASES.identity),
                'database.shared_db': datasource(vars, inventory, DATABASES.shared),
                'database.user': datasource(vars, inventory, DATABASES.user),
                'realm_manager.data_source': 'WSO2USER_DB',
              },
              notify: `restart ${node.name}`,
            }),
          ];
        }),
        // Restart the nodes whose pack or config changed now, one after the other, each waited for.
        flushHandlers(),
        ...nodesOf(host).map((node) => nodeService(vars, node, 'started')),
      ],
      handlers: ({ host, vars }) => nodesOf(host).flatMap((node) => [nodeService(vars, node, 'restarted'), nodeReady(vars, node)]),
    },
    {
      name: 'load balancer',
      hosts: 'lb',
      tasks: ({ vars, inventory }) => {
        const cert = `${vars.lb_ssl_dir}/${vars.is_hostname}.crt`;
        const key = `${vars.lb_ssl_dir}/${vars.is_hostname}.key`;
        const upstream = inventory.hosts('is').flatMap((h) =>
          nodesOf(h).map((node) => ({ host: h.name, node: node.name, address: h.address, port: HTTPS_PORT + node.offset, down: node.down === true })),
        );
        return [
          packages({ names: ['nginx', 'openssl', 'curl'] }),
          file({ path: vars.lb_ssl_dir, state: 'directory', mode: '0755' }),
          x509({ key, cert, subject: `/CN=${vars.is_hostname}`, days: Number(vars.cert_days), altNames: [`DNS:${vars.is_hostname}`], notify: 'restart nginx' }),
          template({
            src: 'templates/nginx-is.conf.hbs',
            dest: '/etc/nginx/conf.d/is.https.conf',
            vars: { upstream, upstream_name: 'ssl.wso2.is.com', ssl_cert: cert, ssl_key: key },
            notify: 'reload nginx',
          }),
          hostsEntry({ ip: '127.0.0.1', names: [vars.is_hostname] }),
          service({ name: 'nginx', state: 'started', enabled: true }),
          // Proof: every node that is not marked down answers from here, and the balancer answers for them.
          ...upstream
            .filter((u) => !u.down)
            .map((u) => waitFor({ url: `https://${u.address}:${u.port}/carbon/`, status: CARBON_OK, insecure: true, timeout: 300 })),
          flushHandlers(),
          waitFor({ url: `https://${vars.is_hostname}/carbon/`, status: CARBON_OK, insecure: true, timeout: 120 }),
        ];
      },
      handlers: [
        service({ name: 'nginx', state: 'restarted', listen: 'restart nginx' }),
        service({ name: 'nginx', state: 'reloaded', listen: 'reload nginx' }),
      ],
    },
  ],
});
