"""Encryption of stored secrets, with Fernet from ``cryptography``.

The key comes from ``EXT_HOST_SECRET_KEY`` when set, else from
``secret.key`` in the data folder, created on first use with mode 0600.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from .errors import ConfigError

KEY_ENV = "EXT_HOST_SECRET_KEY"


class SecretBox:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None):
        env = dict(os.environ if env is None else env)
        if env.get(KEY_ENV):
            key = env[KEY_ENV].encode()
            where = KEY_ENV
        else:
            key_file = Path(data_dir) / "secret.key"
            where = str(key_file)
            if not key_file.exists():
                key_file.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(Fernet.generate_key())
            key = key_file.read_bytes().strip()
        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise ConfigError(
                f"{where}: not a valid key; generate one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`"
            ) from None
        self._key = key

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "a stored secret cannot be decrypted: the secret key changed; "
                "restore it or enter the secrets again"
            ) from None

    def derive(self, purpose: str) -> bytes:
        """A key for another purpose (the session cookie), derived from this one."""
        return hmac.new(self._key, purpose.encode(), hashlib.sha256).digest()
