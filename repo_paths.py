"""Where the repository's Python code lives, for the scripts and benchmarks run as files.

Lambda puts a function's code directory and its layer's directory on sys.path; pytest does it for
every function (pytest.ini `pythonpath`). A file run as `python bench/x.py` gets only its own folder,
so it puts the repository root first (one line) and asks here for the rest:

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: repo_paths
    import repo_paths
    repo_paths.use("process")          # src/process, then src/shared (the layer), then the root

Every function's modules have names of their own (`process_app`, `processing`, ...; a test checks
that none repeats), so the order of these folders on sys.path never decides which module is loaded."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SHARED_LAYER = ROOT / "src" / "shared"
FUNCTIONS = ("upload", "process", "presign", "delete", "publish", "signin", "invalidate", "edgeauth")


def function_dir(name: str) -> Path:
    """A function's code directory (its template CodeUri)."""
    if name not in FUNCTIONS:
        raise ValueError(f"no function {name!r}; one of {', '.join(FUNCTIONS)}")
    return ROOT / "src" / name


def use(*functions: str) -> None:
    """Put the named functions' code directories, the shared layer and the repository root first on sys.path."""
    wanted = [*(function_dir(name) for name in functions), SHARED_LAYER, ROOT]
    for path in reversed(wanted):
        if str(path) in sys.path:
            sys.path.remove(str(path))
        sys.path.insert(0, str(path))
