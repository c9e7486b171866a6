"""The pseudonymization key: where it lives, how it is made, how it is checked.

The key never lives in the lake (DESIGN.md, identity). It is a file of 32 random bytes
(hex) with mode 0600, found by ``--key-file``, else ``$BMB_KEY_FILE``, else
``<user config dir>/bmb/keys/<lake id>.key``. A lake records only the key's fingerprint;
BMB refuses to ingest with a missing key or a key whose fingerprint differs, and only
``bmb init`` ever creates a key.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from bmb.domain.errors import KeyMismatchError
from bmb.domain.identity import key_fingerprint

KEY_BYTES = 32


def config_dir() -> Path:
    """The user's configuration directory (XDG)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "bmb"


def default_key_path(lake_id: str) -> Path:
    return config_dir() / "keys" / f"{lake_id}.key"


def resolve_key_path(lake_id: str, key_file: Path | None = None) -> Path:
    """``--key-file``, else ``$BMB_KEY_FILE``, else the per-lake file in the config dir."""
    if key_file is not None:
        return key_file
    env = os.environ.get("BMB_KEY_FILE")
    if env:
        return Path(env)
    return default_key_path(lake_id)


def create_key(path: Path, lake_root: Path) -> bytes:
    """Create a new key file (mode 0600). Refuses to overwrite or to write inside the lake."""
    resolved = path.resolve()
    if resolved.is_relative_to(lake_root.resolve()):
        raise KeyMismatchError(
            f"refusing to put the key inside the lake ({path})",
            hint="the key must live outside the lake directory; pass another --key-file",
        )
    if path.exists():
        raise KeyMismatchError(
            f"a key file already exists at {path}",
            hint="use 'bmb init --use-existing-key' to build this lake with it",
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
    return key


def load_key(path: Path) -> bytes:
    """Read a key file, refusing one that others can read."""
    if not path.is_file():
        raise KeyMismatchError(
            f"pseudonymization key not found at {path}",
            hint="pass --key-file or set BMB_KEY_FILE; BMB never makes a new key for a lake",
        )
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyMismatchError(
            f"key file {path} is readable by others (mode {mode:o})",
            hint=f"run 'chmod 600 {path}'",
        )
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError as exc:
        raise KeyMismatchError(f"key file {path} does not hold a hex key") from exc
    if len(key) < KEY_BYTES:
        raise KeyMismatchError(f"key in {path} is shorter than {KEY_BYTES} bytes")
    return key


def check_key(key: bytes, expected_fingerprint: str, path: Path) -> None:
    """Refuse a key that is not the lake's key."""
    if key_fingerprint(key) != expected_fingerprint:
        raise KeyMismatchError(
            f"the key in {path} is not this lake's key",
            hint="ingesting with another key would split every person in two",
        )
