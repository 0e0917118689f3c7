"""``ext-host ext new NAME``: a working extension project to start from.

The project packs, checks and loads as created: a manifest, an entry object
implementing three hooks, a test that loads it into a real host, and a
``pyproject.toml`` declaring the entry point for ``pip install -e``.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from .errors import HostError

TEMPLATES = Path(__file__).resolve().parent / "scaffold_templates"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,59}$")

#: Template file -> where it goes in the project (``{package}`` filled in).
LAYOUT = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "{package}/__init__.py",
    "extension.yaml.tmpl": "{package}/extension.yaml",
    "plugin.py.tmpl": "{package}/plugin.py",
    "test_plugin.py.tmpl": "tests/test_plugin.py",
}


def package_name(name: str) -> str:
    """The Python package of extension ``name``: ``hello-world`` -> ``ext_hello_world``."""
    return "ext_" + name.replace("-", "_")


def scaffold(name: str, parent: Path) -> Path:
    """Create the project folder ``parent/NAME`` and return its path."""
    if not _NAME.match(name):
        raise HostError(
            f"extension name {name!r}: use 1-60 lower-case letters, digits, '-' "
            "or '_', starting with a letter"
        )
    project = Path(parent).resolve() / name
    if project.exists():
        raise HostError(f"{project} already exists; choose another name or folder")
    values = {
        "name": name,
        "package": package_name(name),
        "panel": name.replace("-", "_"),
        "title": name.replace("-", " ").replace("_", " ").title(),
    }
    files = {
        target.format(package=values["package"]): Template(
            (TEMPLATES / source).read_text(encoding="utf-8")
        ).substitute(values)
        for source, target in LAYOUT.items()
    }
    for relative, text in files.items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return project
