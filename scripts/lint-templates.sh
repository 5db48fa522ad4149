#!/usr/bin/env bash
# Validates the CloudFormation templates in deploy/:
#   1. cfn-lint (pinned; installed from PyPI into a private virtualenv when missing),
#      errors, warnings and informational checks alike: any finding fails;
#   2. deploy/tests/test_templates.py: least-privilege IAM (no wildcard action, "*"
#      resources only for the actions AWS documents without resource-level permissions),
#      the topic rule SQL, the event source mapping, the state table, the parameters.
# Usage: scripts/lint-templates.sh
# IOT_CRR_LINT_VENV overrides where the virtualenv lives.
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION=1.58.0
venv="${IOT_CRR_LINT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/iot-crr/cfn-lint-$CFN_LINT_VERSION}"

if ! "$venv/bin/cfn-lint" --version 2>/dev/null | grep -qx "cfn-lint $CFN_LINT_VERSION"; then
  echo "installing cfn-lint $CFN_LINT_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
fi

echo "== cfn-lint $CFN_LINT_VERSION: deploy/*.yaml"
"$venv/bin/cfn-lint" --include-checks I -- deploy/*.yaml
echo "cfn-lint: no findings"

echo "== deploy/tests/test_templates.py"
# The virtualenv has PyYAML and cfnlint (whose copy of the authorization reference the
# IAM test compares the policies with).
"$venv/bin/python" deploy/tests/test_templates.py
