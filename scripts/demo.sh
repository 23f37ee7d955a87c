#!/usr/bin/env bash
# The main job on a fresh machine: bring up the lab (four Debian hosts with real sshd: lb, is1, is2,
# db), build the stand-in WSO2 IS pack, and roll out the IS cluster behind NGINX with
# playbooks/cluster.ts, twice: the first run changes, the second finds nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
playbook=${1:-playbooks/cluster.ts}
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build
scripts/standin-pack/build.sh
scripts/lab.sh up lb=10.231.0.11 is1=10.231.0.12 is2=10.231.0.13 db=10.231.0.14
echo "== first run: $playbook"
node bin/is-provision.js run "$playbook" -i inventory/lab
echo "== second run: nothing to do"
node bin/is-provision.js run "$playbook" -i inventory/lab
cat <<MSG

The cluster is up. Look around:
  curl -sk https://10.231.0.11/carbon/ -H 'Host: is.wso2.com'   # through NGINX to a node
  curl -sk https://10.231.0.12:9443/carbon/                       # node1 on is1
  curl -sk https://10.231.0.13:9444/carbon/                       # node2 on is2 (offset 1)
  scripts/lab.sh ssh lb cat /etc/nginx/conf.d/is.https.conf
  scripts/lab.sh ssh db mysql -e 'show databases'
  node bin/is-provision.js run $playbook -i inventory/lab --dry-run -e is_hostname=id.example.com
  scripts/lab.sh down                                              # stop the hosts
MSG
