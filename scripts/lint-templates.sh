#!/usr/bin/env bash
# Validates the CloudFormation templates in deploy/:
#   1. cfn-lint, errors, warnings and informational checks alike: any finding fails;
#   2. deploy/tests/test_templates.py: least-privilege IAM (no wildcard action, "*"
#      resources only for the actions AWS documents without resource-level permissions),
#      the topic rule SQL, the event source mapping, the state table, the parameters;
#   3. deploy/tests/test_moto_deploy.py: both templates deployed into moto, in process
#      (no Docker, no network), and the resources moto created checked one by one.
# The Python packages (deploy/tests/requirements.txt, pinned) are installed from PyPI into
# a private virtualenv when missing; a change of that file makes a new virtualenv.
# Usage: scripts/lint-templates.sh
# IOT_CRR_LINT_VENV overrides where the virtualenv lives.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=deploy/tests/requirements.txt
hash=$(sha256sum "$requirements" | cut -c1-12)
venv="${IOT_CRR_LINT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/iot-crr/lint-$hash}"

if [ "$(cat "$venv/.iot-crr-requirements" 2>/dev/null)" != "$hash" ]; then
  echo "installing $requirements into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$hash" > "$venv/.iot-crr-requirements"
fi

echo "== $("$venv/bin/cfn-lint" --version): deploy/*.yaml"
"$venv/bin/cfn-lint" --include-checks I -- deploy/*.yaml
echo "cfn-lint: no findings"

echo "== deploy/tests/test_templates.py"
# The virtualenv has PyYAML and cfnlint (whose copy of the authorization reference the
# IAM test compares the policies with).
"$venv/bin/python" deploy/tests/test_templates.py

echo "== deploy/tests/test_moto_deploy.py"
"$venv/bin/python" deploy/tests/test_moto_deploy.py
