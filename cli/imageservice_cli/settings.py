"""Where the client's settings and tokens live: the service URL from --url, IMAGESERVICE_URL or the config
file, and the tokens `imageservice login` saved, readable by their owner only."""

import json
import os
import sys
import tomllib
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:3000"
URL_VARIABLE = "IMAGESERVICE_URL"
TOKEN_VARIABLE = "IMAGESERVICE_TOKEN"
CONFIG_DIR_VARIABLE = "IMAGESERVICE_CONFIG_DIR"  # for tests and unusual setups; otherwise the platform's place


class SettingsError(Exception):
    """A config file that cannot be used; the command stops with a sentence naming it."""


def config_dir() -> Path:
    """The user's config directory for this client: $XDG_CONFIG_HOME/imageservice (~/.config/imageservice),
    %APPDATA%\\imageservice on Windows, ~/Library/Application Support/imageservice on macOS."""
    if os.environ.get(CONFIG_DIR_VARIABLE):
        return Path(os.environ[CONFIG_DIR_VARIABLE])
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "imageservice"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "imageservice"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "imageservice"


def config_file() -> Path:
    return config_dir() / "config.toml"


def service_url(flag: str | None) -> str:
    """--url, else IMAGESERVICE_URL, else `url = "…"` in the config file, else make dev's address."""
    if flag:
        return flag
    if os.environ.get(URL_VARIABLE):
        return os.environ[URL_VARIABLE]
    path = config_file()
    try:
        with path.open("rb") as file:
            config = tomllib.load(file)
    except FileNotFoundError:
        return DEFAULT_URL
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"cannot read {path}: {error}") from None
    url = config.get("url", DEFAULT_URL)
    if not isinstance(url, str):
        raise SettingsError(f"{path}: url must be a string, such as url = \"https://images.example.com\"")
    return url


def _tokens_file() -> Path:
    return config_dir() / "tokens.json"


def saved_tokens(url: str) -> dict | None:
    """The tokens `imageservice login` saved for this service, or None."""
    try:
        saved = json.loads(_tokens_file().read_text())
    except (OSError, ValueError):
        return None
    tokens = saved.get(url.rstrip("/")) if isinstance(saved, dict) else None
    return tokens if isinstance(tokens, dict) else None


def save_tokens(url: str, tokens: dict | None) -> Path:
    """Keep (or, with None, forget) this service's tokens in a file only its owner may read or write."""
    path = _tokens_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        saved = json.loads(path.read_text())
        saved = saved if isinstance(saved, dict) else {}
    except (OSError, ValueError):
        saved = {}
    if tokens is None:
        saved.pop(url.rstrip("/"), None)
    else:
        saved[url.rstrip("/")] = tokens
    # Created 0600 before anything is written, and replaced whole, so no other user ever sees a token.
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(saved, file, indent=2)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path
