#!/usr/bin/env bash
# The template's static gates: SAM validation with lint, cfn-lint before and after the SAM transform,
# parliament over the rendered IAM policies, the checkov security scan, and an arm64 build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
echo "== sam validate --lint"
sam validate --lint
echo "== cfn-lint template.yaml"
.venv/bin/cfn-lint template.yaml
echo "== cfn-lint on the transformed template"
mkdir -p .aws-sam
.venv/bin/python scripts/translate_template.py template.yaml > .aws-sam/transformed.json
.venv/bin/cfn-lint .aws-sam/transformed.json
echo "== parliament on the rendered IAM policies (roles and bucket policies)"
.venv/bin/python scripts/lint_policies.py
echo "== sam build (arm64) and architecture check"
scripts/build.sh
echo "== checkov (security scan)"
checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download
