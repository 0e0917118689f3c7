"""Every hook is documented (a ``### name`` entry with its exact signature in
docs/extensions.md), exercised (a ``test_hook_NAME`` test) and implemented by
the hello example.  Adding a hook without all three fails here."""

from __future__ import annotations

import ast
import inspect
import re

import pytest
from stackkit import REPO

from ext_host import hookspecs

DOCS = (REPO / "docs" / "extensions.md").read_text(encoding="utf-8")
TESTS = REPO / "tests"
EXAMPLE = REPO / "examples" / "ext_hello" / "plugin.py"


def signature(name: str) -> str:
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({params}) -> {sig.return_annotation}"


def doc_section(name: str) -> str:
    match = re.search(rf"^### {re.escape(name)}\n(.*?)(?=^##)", DOCS, re.M | re.S)
    return match.group(1) if match else ""


def test_hook_names_list_every_hookspec():
    declared = [
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, f"{hookspecs.PROJECT}_spec")
    ]
    assert sorted(declared) == sorted(hookspecs.HOOK_NAMES)


@pytest.mark.parametrize("name", hookspecs.HOOK_NAMES)
def test_hook_is_documented_with_its_signature(name):
    section = doc_section(name)
    assert section, f"docs/extensions.md has no '### {name}' entry"
    assert f"```python\n{signature(name)}\n```" in section


def test_hooks_are_documented_in_declaration_order():
    headings = re.findall(r"^### (\w+)$", DOCS, re.M)
    assert headings == list(hookspecs.HOOK_NAMES)


def hook_test_functions() -> set[str]:
    found = set()
    for path in TESTS.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_hook_"):
                found.add(node.name)
    return found


@pytest.mark.parametrize("name", hookspecs.HOOK_NAMES)
def test_hook_has_a_test(name):
    assert f"test_hook_{name}" in hook_test_functions()


@pytest.mark.parametrize("name", hookspecs.HOOK_NAMES)
def test_hook_is_implemented_by_the_example(name):
    tree = ast.parse(EXAMPLE.read_text(encoding="utf-8"))
    methods = {
        node.name
        for cls in ast.walk(tree)
        if isinstance(cls, ast.ClassDef)
        for node in cls.body
        if isinstance(node, ast.FunctionDef)
    }
    assert name in methods
