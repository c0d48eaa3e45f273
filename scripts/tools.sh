# Sourced by the scripts: tools whose pins clash with the project's get venvs of their own.
TOOLS_DIR=${TOOLS_DIR:-.tools}
SAM_CLI_VERSION=1.170.0
CHECKOV_VERSION=3.3.30
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}

tool_venv() {  # tool_venv NAME PIP-SPEC: a venv in $TOOLS_DIR/NAME holding PIP-SPEC
  local dir="$TOOLS_DIR/$1"
  if [ ! -f "$dir/.installed-$2" ]; then
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --upgrade pip
    "$dir/bin/pip" install --quiet "$2"
    touch "$dir/.installed-$2"
  fi
}
sam() { tool_venv sam "aws-sam-cli==$SAM_CLI_VERSION"; "$TOOLS_DIR/sam/bin/sam" "$@"; }
checkov() { tool_venv checkov "checkov==$CHECKOV_VERSION"; "$TOOLS_DIR/checkov/bin/checkov" "$@"; }

python313_path() {  # sam build for the python3.13 runtime needs a python3.13 on PATH
  local root candidate
  root=$(pyenv root 2>/dev/null) || true
  for candidate in "$root"/versions/3.13*/bin; do
    [ -x "$candidate/python3.13" ] && { echo "$candidate"; return; }
  done
  # A pyenv shim answers to the name but may not run; ask it to.
  candidate=$(command -v python3.13) && "$candidate" -c "" 2>/dev/null && { dirname "$candidate"; return; }
  echo "python3.13 is needed for sam build (install it, e.g. pyenv install 3.13)" >&2
  return 1
}
