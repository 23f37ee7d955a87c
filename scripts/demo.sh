#!/usr/bin/env bash
# The main job on a fresh machine: bring up the lab (four Debian hosts with real sshd), then run a
# playbook against it twice: the first run changes, the second finds nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
playbook=${1:-playbooks/example.ts}
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f dist/cli/main.js ] || npm run build
scripts/lab.sh up lb=10.231.0.11 is1=10.231.0.12 is2=10.231.0.13 db=10.231.0.14
echo "== first run: $playbook"
node bin/is-provision.js run "$playbook" -i inventory/lab
echo "== second run: nothing to do"
node bin/is-provision.js run "$playbook" -i inventory/lab
cat <<MSG

The lab is up. Look around:
  scripts/lab.sh ssh is1 cat /opt/app/app.conf     # what the playbook wrote
  node bin/is-provision.js run $playbook -i inventory/lab --dry-run
  scripts/lab.sh down                              # stop the hosts
MSG
