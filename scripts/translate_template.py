"""Print template.yaml after the SAM transform (offline), so cfn-lint sees what CloudFormation will.

Some mistakes exist only after the transform: the classic one is a cycle between a function's
environment and the bucket that triggers it."""

import json
import os
import sys
from pathlib import Path

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class OfflinePolicyLoader:
    """The template uses policy templates, not managed policy names, so no IAM lookup is needed."""

    def load(self):
        return {}


def as_packaged(template: dict) -> dict:
    """Local code paths replaced by S3 URIs, as `sam package` would leave them."""
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for name in ("CodeUri", "ContentUri"):
            if isinstance(props.get(name), str) and not props[name].startswith("s3://"):
                props[name] = f"s3://packaged-artifacts/{props[name].strip('/')}.zip"
    return template


def main() -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = yaml_parse(Path(sys.argv[1] if len(sys.argv) > 1 else "template.yaml").read_text())
    json.dump(transform(as_packaged(template), {}, OfflinePolicyLoader()), sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main()
