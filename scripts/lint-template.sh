#!/usr/bin/env bash
# The template's static gates: SAM validation with lint, cfn-lint before and after the SAM transform,
# parliament over the rendered IAM policies, the checkov security scan, and an arm64 build. The gates
# but parliament run once per AuthMode (none, cognito, oidc): checkov and the transform read parameter
# defaults, so each mode is rendered with its own.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
VENV=${VENV:-.venv}  # make passes its own: CI also lints from a Python 3.13 venv
mkdir -p .aws-sam
for mode in none cognito oidc; do
  rendered=.aws-sam/template-$mode.yaml
  "$VENV"/bin/python scripts/render_auth_mode.py "$mode" template.yaml > "$rendered"
  echo "== AuthMode=$mode: sam validate --lint"
  sam validate --lint -t "$rendered"
  echo "== AuthMode=$mode: cfn-lint"
  "$VENV"/bin/cfn-lint "$rendered"
  echo "== AuthMode=$mode: cfn-lint on the transformed template"
  "$VENV"/bin/python scripts/translate_template.py "$rendered" > ".aws-sam/transformed-$mode.json"
  "$VENV"/bin/cfn-lint ".aws-sam/transformed-$mode.json"
  echo "== AuthMode=$mode: checkov (security scan)"
  checkov -f "$rendered" --framework cloudformation --compact --quiet --skip-download
done
echo "== parliament on the rendered IAM policies (roles and bucket policies)"
"$VENV"/bin/python scripts/lint_policies.py
echo "== sam build (arm64) and architecture check"
scripts/build.sh
