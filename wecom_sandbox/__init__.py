"""A local stand-in for the WeCom (企业微信) server API and its OAuth pages.

``Sandbox`` owns one seeded corp and serves it over HTTP; see
``docs/sandbox.md``.
"""

from .cli import main, serve_forever
from .corp import SeedError
from .errors import ApiError
from .sandbox import Sandbox

__all__ = ["ApiError", "Sandbox", "SeedError", "main", "serve_forever"]
