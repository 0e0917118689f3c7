"""Manifest validation: every error names the field and the fix."""

import pytest

from ext_host.errors import ManifestError
from ext_host.manifest import parse_manifest

GOOD = "name: demo\nversion: 1.2.0\nentry: demo_ext.plugin:Demo\n"


def test_minimal_manifest_gets_defaults():
    m = parse_manifest(GOOD, "demo.ext")
    assert (m.name, str(m.version), m.priority, m.before, m.depends) == (
        "demo",
        "1.2.0",
        100,
        (),
        (),
    )
    assert (m.entry_module, m.entry_object, m.top_package) == (
        "demo_ext.plugin",
        "Demo",
        "demo_ext",
    )


def test_depends_and_host_ranges_are_parsed():
    m = parse_manifest(
        GOOD + "depends: ['base >=1.0,<2']\nhost: '>=0.1,<1'\npriority: 5\n", "x"
    )
    assert [str(d) for d in m.depends] == ["base<2,>=1.0"]
    assert m.host.contains("0.1.0") and not m.host.contains("1.0")
    assert m.priority == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "x.ext: manifest must be a mapping of fields"),
        ("name: [\n", "x.ext: manifest is not valid YAML at line 2"),
        (
            "version: 1.0\nentry: a.b\n",
            "x.ext: field 'name' is required; use 1-64 lower-case letters, digits, "
            "'-' or '_', starting with a letter",
        ),
        (
            "name: Demo\nversion: '1'\nentry: a.b\n",
            "x.ext: field 'name': 'Demo' is not valid (pattern '^[a-z][a-z0-9_-]{0,63}$'); "
            "use 1-64 lower-case letters, digits, '-' or '_', starting with a letter",
        ),
        (
            "name: demo\nversion: 'one'\nentry: a.b\n",
            "x.ext: field 'version': 'one' is not a version; use a version such as 1.0.0",
        ),
        (
            "name: demo\nversion: '1'\nentry: 'a b'\n",
            "x.ext: field 'entry': 'a b' is not valid (pattern "
            "'^[A-Za-z_][A-Za-z0-9_]*(\\\\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*)?$'); "
            "use module.path or module.path:ObjectName",
        ),
        (
            GOOD + "colour: red\n",
            "x.ext: Additional properties are not allowed ('colour' was unexpected); "
            "remove it or check its spelling",
        ),
        (
            GOOD + "depends: ['demo']\n",
            "x.ext: field 'depends': demo depends on itself",
        ),
        (
            GOOD + "host: 'banana'\n",
            "x.ext: field 'host': 'banana' is not a version range; use a version range "
            "such as '>=0.1,<1'",
        ),
    ],
)
def test_bad_manifests(text, message):
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, "x.ext")
    assert str(info.value) == message
