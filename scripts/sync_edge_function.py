#!/usr/bin/env python3
"""Copy src/edge/image_request.js into template.yaml's ImageRequestFunction FunctionCode.

CloudFormation takes a CloudFront Function's code only inline, and neither `sam package` nor `aws cloudformation
package` uploads a file for it; the JS file is what Node tests and the local stack run, so the template holds a
copy of it, written by this script and kept equal by tests/unit/test_edge_function.py. `--check` only compares."""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "edge" / "image_request.js"
TEMPLATE = ROOT / "template.yaml"
INDENT = " " * 8
# The FunctionCode block scalar of ImageRequestFunction: its header line and every line indented under it.
_BLOCK = re.compile(r"(  ImageRequestFunction:\n(?:    .*\n|\n)*?      FunctionCode: !Sub \|\n)((?:        .*\n|\n)*)")


def synced(template: str, code: str) -> str:
    match = _BLOCK.search(template)
    if match is None:
        raise SystemExit("template.yaml has no ImageRequestFunction with a FunctionCode: !Sub | block")
    block = "".join(f"{INDENT}{line}\n" if line else "\n" for line in code.rstrip("\n").split("\n"))
    # Blank lines at the block's end belong to the YAML around it (the resource's separation), not to the code.
    trailing = match[2][len(match[2].rstrip("\n")) + 1:] if match[2].endswith("\n\n") else ""
    return template[:match.start(2)] + block + trailing + template[match.end(2):]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when the template's copy differs")
    args = parser.parse_args()
    template = TEMPLATE.read_text()
    wanted = synced(template, SOURCE.read_text())
    if args.check:
        if wanted != template:
            print("template.yaml's ImageRequestFunction code differs from src/edge/image_request.js; "
                  "run scripts/sync_edge_function.py", file=sys.stderr)
            return 1
        return 0
    TEMPLATE.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
