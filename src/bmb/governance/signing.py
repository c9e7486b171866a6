"""The Ed25519 key that signs audit checkpoints, kept outside the lake.

Like the pseudonymization key, the signing key never lives in the lake or in the
governance store: whoever can write the store could otherwise rewrite the whole chain
and sign it again. It is a PEM file (mode 0600) under the user's configuration
directory, named after the lake, or at ``$BMB_AUDIT_KEY_FILE``; its public half sits
beside it (``.pub``, hex) and is what ``bmb audit verify`` trusts. Checkpoints also
store the public key they were signed with, but verification refuses a checkpoint whose
key is not the trusted one.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from bmb.domain.errors import KeyMismatchError

KEY_ENV = "BMB_AUDIT_KEY_FILE"


def default_key_path(lake_id: str) -> Path:
    """``$BMB_AUDIT_KEY_FILE``, else ``<config dir>/bmb/keys/<lake id>.audit-ed25519``."""
    env = os.environ.get(KEY_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "bmb" / "keys" / f"{lake_id}.audit-ed25519"


def public_key_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + ".pub")


@dataclass(frozen=True)
class Signer:
    """A loaded signing key."""

    private_key: Ed25519PrivateKey

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


def create_key(path: Path) -> Signer:
    """Make a new signing key (mode 0600) and its public half; refuses to overwrite."""
    if path.exists():
        raise KeyMismatchError(f"an audit signing key already exists at {path}")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    signer = Signer(key)
    public_key_path(path).write_text(signer.public_bytes.hex() + "\n", encoding="ascii")
    return signer


def load_signer(path: Path) -> Signer:
    """Load a signing key, refusing one that others can read."""
    if not path.is_file():
        raise KeyMismatchError(
            f"audit signing key not found at {path}",
            hint=f"set {KEY_ENV}, or run 'bmb init' which creates it",
        )
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyMismatchError(
            f"audit signing key {path} is readable by others (mode {mode:o})",
            hint=f"run 'chmod 600 {path}'",
        )
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyMismatchError(f"{path} is not an Ed25519 private key")
    return Signer(key)


def load_public_key(path: Path) -> bytes:
    """A trusted public key: 32 bytes, hex in a file."""
    try:
        raw = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        raise KeyMismatchError(f"cannot read a public key from {path}: {exc}") from exc
    if len(raw) != 32:
        raise KeyMismatchError(f"{path} does not hold a 32-byte Ed25519 public key")
    return raw


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
