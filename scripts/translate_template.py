"""Print template.yaml after the SAM transform (offline), so cfn-lint sees what CloudFormation will.

Some mistakes exist only after the transform: the classic one is a cycle between a function's
environment and the bucket that triggers it. The transform itself lives in devstack/iam/roles.py,
which also reads the functions' role policies from its result."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root

from devstack.iam.roles import OfflinePolicyLoader, as_packaged, render_template  # noqa: E402

__all__ = ["OfflinePolicyLoader", "as_packaged", "main"]


def main() -> None:
    json.dump(render_template(Path(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")), sys.stdout, indent=1)


if __name__ == "__main__":
    main()
