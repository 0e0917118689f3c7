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
            "x.ext: field 'colour' is not a manifest field; remove it or check its "
            "spelling (fields: name, alias, description, version, priority, before, "
            "depends, host, entry, files)",
        ),
        (
            GOOD + "depends: ['demo']\n",
            "x.ext: field 'depends': demo depends on itself",
        ),
        (
            GOOD + "depends: ['base[extra] >=1']\n",
            "x.ext: field 'depends': 'base[extra] >=1' must be an extension name and "
            "an optional version range; list requirements such as 'base >=1.0,<2'",
        ),
        (
            GOOD + "depends: ['Base.Thing']\n",
            "x.ext: field 'depends': 'Base.Thing' must be an extension name and an "
            "optional version range; list requirements such as 'base >=1.0,<2'",
        ),
        (
            GOOD + "before: ['demo']\n",
            "x.ext: field 'before': demo cannot load before itself",
        ),
        (
            GOOD + "priority: -1\n",
            "x.ext: field 'priority': -1 is not valid (minimum 0); use a whole number "
            "from 0 to 10000 (lower loads first)",
        ),
        (
            GOOD + "files: {'a.py': 'nothex'}\n",
            "x.ext: field 'files.a.py': 'nothex' is not valid (pattern "
            "'^[0-9a-f]{64}$'); re-pack the extension with `ext-host ext pack`",
        ),
        (
            "name: demo\nversion: '1'\n",
            "x.ext: field 'entry' is required; use module.path or module.path:ObjectName",
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


def test_manifest_text_shown_as_html_is_escaped(make_host, tmp_path):
    from extkit import write_extension

    from ext_host.api import message_page
    from ext_host.web import create_app

    write_extension(
        tmp_path / "src",
        "shown",
        out_dir=tmp_path / "ext",
        alias="<b>bold</b>",
        description="<script>alert(1)</script>",
    )
    host = make_host(extensions_dir=tmp_path / "ext")
    record = host.extensions["shown"]
    assert (record.alias, record.description) == (
        "<b>bold</b>",
        "<script>alert(1)</script>",
    )
    with create_app(host).test_request_context():
        page, status = message_page(record.alias, record.description)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script>alert" not in page and "<b>bold" not in page
