"""Fail unless every native extension in a built function is an aarch64 ELF (Lambda arm64), and the one it must
have is there: `check_build_arch.py BUILD_DIR [GLOB]` (default: Pillow's PIL/_imaging.*)."""

import sys
from pathlib import Path

EM_AARCH64 = 183
DEFAULT_EXPECTED = "PIL/_imaging.*"


def machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        raise ValueError(f"{path} is not an ELF file")
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def main() -> int:
    build_dir = Path(sys.argv[1])
    expected_glob = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_EXPECTED
    extensions = sorted(build_dir.rglob("*.so"))
    expected = sorted(build_dir.glob(expected_glob))
    if not expected:
        print(f"no {expected_glob} under {build_dir}", file=sys.stderr)
        return 1
    wrong = [path for path in extensions if machine(path) != EM_AARCH64]
    for path in wrong:
        print(f"not aarch64: {path}", file=sys.stderr)
    print(f"{len(extensions)} native extensions checked, {expected[0].name} among them, all aarch64: {not wrong}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
