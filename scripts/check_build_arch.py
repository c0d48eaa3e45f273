"""Fail unless every native extension in a built function is an aarch64 ELF (Lambda arm64)."""

import sys
from pathlib import Path

EM_AARCH64 = 183


def machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        raise ValueError(f"{path} is not an ELF file")
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def main() -> int:
    build_dir = Path(sys.argv[1])
    extensions = sorted(build_dir.rglob("*.so"))
    pillow = [path for path in extensions if path.parent.name == "PIL" and path.name.startswith("_imaging.")]
    if not pillow:
        print(f"no Pillow extension under {build_dir}", file=sys.stderr)
        return 1
    wrong = [path for path in extensions if machine(path) != EM_AARCH64]
    for path in wrong:
        print(f"not aarch64: {path}", file=sys.stderr)
    print(f"{len(extensions)} native extensions checked, Pillow: {pillow[0].name}, all aarch64: {not wrong}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
