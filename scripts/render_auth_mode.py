"""Print template.yaml with the defaults of one AuthMode (none, cognito or oidc), so each mode's resources
and conditions go through the same gates: sam validate --lint, cfn-lint before and after the transform,
and checkov, which read parameter defaults."""

import re
import sys
from pathlib import Path

MODES = ("none", "cognito", "oidc")
# Stand-ins a real oidc deployment gives as parameters (the template's Rules require both).
OIDC_DEFAULTS = {"OidcIssuer": "https://issuer.example.com/realms/images", "OidcAudience": "image-site"}


def render(text: str, mode: str) -> str:
    if mode not in MODES:
        raise SystemExit(f"AuthMode must be one of {', '.join(MODES)}, not {mode!r}")
    defaults = {"AuthMode": mode, **(OIDC_DEFAULTS if mode == "oidc" else {})}
    for name, value in defaults.items():
        pattern = re.compile(rf"(\n  {name}:\n    Type: String\n    Default: )[^\n]*")
        text, count = pattern.subn(lambda m, value=value: f'{m[1]}"{value}"', text)
        if count != 1:
            raise SystemExit(f"parameter {name} with a Default not found in the template")
    return text


if __name__ == "__main__":
    path = Path(sys.argv[2] if len(sys.argv) > 2 else "template.yaml")
    sys.stdout.write(render(path.read_text(), sys.argv[1]))
