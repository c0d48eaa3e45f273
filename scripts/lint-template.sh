#!/usr/bin/env bash
# The template's static gates: SAM validation with lint, cfn-lint before and after the SAM transform,
# parliament over the rendered IAM policies, the checkov security scan, and an arm64 build. The gates
# but parliament run once per AuthMode (none, cognito, oidc): checkov and the transform read parameter
# defaults, so each mode is rendered with its own.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
mkdir -p .aws-sam
for mode in none cognito oidc; do
  rendered=.aws-sam/template-$mode.yaml
  .venv/bin/python scripts/render_auth_mode.py "$mode" template.yaml > "$rendered"
  echo "== AuthMode=$mode: sam validate --lint"
  sam validate --lint -t "$rendered"
  echo "== AuthMode=$mode: cfn-lint"
  .venv/bin/cfn-lint "$rendered"
  echo "== AuthMode=$mode: cfn-lint on the transformed template"
  .venv/bin/python scripts/translate_template.py "$rendered" > ".aws-sam/transformed-$mode.json"
  .venv/bin/cfn-lint ".aws-sam/transformed-$mode.json"
  echo "== AuthMode=$mode: checkov (security scan)"
  checkov -f "$rendered" --framework cloudformation --compact --quiet --skip-download
done
echo "== parliament on the rendered IAM policies (roles and bucket policies)"
.venv/bin/python scripts/lint_policies.py
echo "== sam build (arm64) and architecture check"
scripts/build.sh
