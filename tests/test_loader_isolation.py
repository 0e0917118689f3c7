"""Each extension is imported, registered and started inside its own guard: a
broken one is *failed* with its message, its dependents *blocked*, the rest
run and the host serves.  ``strict`` re-raises; ``trace`` logs each hook call."""

from __future__ import annotations

import logging
import sys

import pytest
import requests
from extkit import write_extension

from ext_host.errors import ArchiveError, ExtensionError
from ext_host.web import start_server

GOOD = """
from ext_host.api import Panel

class Extension:
    @hookimpl
    def startup(self, host):
        pass

    @hookimpl
    def option_panels(self, host):
        return [Panel("good", "Good", {"type": "object", "properties": {}})]
"""

BROKEN = {
    "import-error": (
        "import no_such_module\n\nclass Extension:\n    pass\n",
        "import failed: ModuleNotFoundError: No module named 'no_such_module' "
        "(plugin.py:3)",
    ),
    "syntax-error": (
        "class Extension:\n    def broken(:\n        pass\n",
        "import failed: SyntaxError: invalid syntax (plugin.py, line 4)",
    ),
    "no-entry-object": (
        "class Other:\n    pass\n",
        "import failed: ext_bad.plugin has no 'Extension'; fix 'entry' in the manifest",
    ),
    "unknown-hook": (
        "class Extension:\n"
        "    @hookimpl\n"
        "    def startup(self, host):\n"
        "        pass\n"
        "    @hookimpl\n"
        "    def on_report_saved(self, host):\n"
        "        pass\n",
        "register failed: implements unknown hook 'on_report_saved'; hooks are "
        "startup, shutdown, option_panels, user_fields, menu_items, http_routes, "
        "cli_commands, sign_in_url, serving (see docs/extensions.md)",
    ),
    "wrong-arguments": (
        "class Extension:\n"
        "    @hookimpl\n"
        "    def sign_in_url(self, host, target, user):\n"
        "        return None\n",
        "register failed: hook 'sign_in_url' implementation asks for user, which "
        "the host does not pass; it may take host, target",
    ),
    "invalid-for-pluggy": (
        "class Extension:\n"
        "    @hookimpl(wrapper=True)\n"
        "    def startup(self, host):\n"
        "        return None\n",
        "register failed: hookimpl definition: startup(host) Declared as "
        "wrapper=True or hookwrapper=True but function is not a generator function",
    ),
    "startup-raises": (
        "class Extension:\n"
        "    @hookimpl\n"
        "    def option_panels(self, host):\n"
        "        return []\n"
        "    @hookimpl\n"
        "    def startup(self, host):\n"
        "        raise RuntimeError('the reports database is missing')\n",
        "startup failed: RuntimeError: the reports database is missing (plugin.py:9)",
    ),
}


def build(tmp_path, name: str, body: str, **manifest: object):
    return write_extension(
        tmp_path / "src", name, body, out_dir=tmp_path / "ext", **manifest
    )


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_extension_fails_alone_and_leaves_nothing_behind(
    make_host, tmp_path, case
):
    body, message = BROKEN[case]
    build(tmp_path, "good", GOOD)
    build(tmp_path, "bad", body)
    build(tmp_path, "child", "class Extension:\n    pass\n", depends=["bad"])
    build(tmp_path, "grandchild", "class Extension:\n    pass\n", depends=["child"])
    paths_before = list(sys.path)
    host = make_host(extensions_dir=tmp_path / "ext")

    states = {n: (r.state, r.message) for n, r in host.extensions.items()}
    assert states == {
        "bad": ("failed", message),
        "child": ("blocked", "depends on bad, which is failed"),
        "good": ("loaded", ""),
        "grandchild": ("blocked", "depends on child, which is blocked"),
    }
    bad = host.extensions["bad"]
    assert (bad.plugin, bad.hooks) == (None, [])

    # Nothing of it is left in the plugin manager, in sys.modules or sys.path.
    assert [name for name, _ in host.pm.list_name_plugin()] == ["good"]
    assert not hasattr(host.pm.hook, "on_report_saved")
    for hook in ("startup", "option_panels", "sign_in_url"):
        owners = [i.plugin_name for i in getattr(host.pm.hook, hook).get_hookimpls()]
        assert owners == (["good"] if hook != "sign_in_url" else [])
    assert not [m for m in sys.modules if m == "ext_bad" or m.startswith("ext_bad.")]
    assert [p for p in sys.path if p not in paths_before] == [
        str(host.extensions["good"].code_dir)
    ]

    # The rest run.
    assert [p.name for _, p in host.options.panels()] == ["good"]


def test_with_every_kind_of_broken_extension_the_host_serves(make_host, tmp_path):
    build(tmp_path, "good", GOOD)
    for number, (body, _) in enumerate(BROKEN.values()):
        build(tmp_path, f"bad{number}", body)
    host = make_host(extensions_dir=tmp_path / "ext")
    assert [r.name for r in host.loaded()] == ["good"]
    assert sorted(r.state for r in host.extensions.values()) == ["failed"] * len(
        BROKEN
    ) + ["loaded"]
    server = start_server(host)
    try:
        health = requests.get(f"{server.url}/healthz", timeout=10).json()
    finally:
        server.stop()
    assert health == {"status": "ok", "extensions": 1}


def test_missing_and_mismatched_dependencies_block(make_host, tmp_path):
    build(tmp_path, "base", "class Extension:\n    pass\n", version="1.5.0")
    build(tmp_path, "needs-ghost", "class Extension:\n    pass\n", depends=["ghost"])
    build(tmp_path, "needs-new", "class Extension:\n    pass\n", depends=["base>=2"])
    build(tmp_path, "needs-old", "class Extension:\n    pass\n", depends=["base<2,>=1"])
    host = make_host(extensions_dir=tmp_path / "ext")
    assert {n: (r.state, r.message) for n, r in host.extensions.items()} == {
        "base": ("loaded", ""),
        "needs-ghost": (
            "blocked",
            "depends on ghost, which is not installed; install it",
        ),
        "needs-new": (
            "blocked",
            "depends on base>=2, but base 1.5.0 is installed; install a matching "
            "version",
        ),
        "needs-old": ("loaded", ""),
    }


def test_a_cycle_fails_its_members_and_the_rest_load(make_host, tmp_path):
    build(tmp_path, "a", "class Extension:\n    pass\n", depends=["b"])
    build(tmp_path, "b", "class Extension:\n    pass\n", depends=["a"])
    build(tmp_path, "c", "class Extension:\n    pass\n")
    host = make_host(extensions_dir=tmp_path / "ext")
    message = "extension order has a cycle: a -> b -> a; remove one of the dependencies"
    assert {n: (r.state, r.message) for n, r in host.extensions.items()} == {
        "c": ("loaded", ""),
        "a": ("failed", message),
        "b": ("failed", message),
    }


def test_an_extension_for_another_host_version_fails(make_host, tmp_path):
    build(tmp_path, "future", "class Extension:\n    pass\n", host=">=2")
    host = make_host(extensions_dir=tmp_path / "ext")
    assert host.extensions["future"].message == (
        "requires host >=2, this host is 0.1.0; install a version of the extension "
        "made for this host"
    )


def test_a_hook_that_raises_or_returns_the_wrong_type_costs_only_its_items(
    make_host, tmp_path
):
    build(tmp_path, "good", GOOD)
    build(
        tmp_path,
        "raises",
        "class Extension:\n"
        "    @hookimpl\n"
        "    def option_panels(self, host):\n"
        "        raise ValueError('no panel today')\n",
    )
    build(
        tmp_path,
        "wrongtype",
        "class Extension:\n"
        "    @hookimpl\n"
        "    def option_panels(self, host):\n"
        "        return 5\n",
    )
    host = make_host(extensions_dir=tmp_path / "ext")
    assert [(ext, p.name) for ext, p in host.options.panels()] == [("good", "good")]
    assert host.extensions["raises"].message == (
        "hook option_panels failed: ValueError: no panel today (plugin.py:6)"
    )
    assert host.extensions["wrongtype"].message == (
        "hook option_panels returned int, expected a list; return a list (or None)"
    )
    assert host.extensions["raises"].state == "loaded"


def test_two_extensions_claiming_one_panel_name_are_reported(make_host, tmp_path):
    build(tmp_path, "good", GOOD)
    build(tmp_path, "zcopy", GOOD)
    host = make_host(extensions_dir=tmp_path / "ext")
    assert [(ext, p.name) for ext, p in host.options.panels()] == [("good", "good")]
    assert host.conflicts == [
        "panel 'good' of extension 'zcopy' refused: already claimed by extension 'good'"
    ]


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("import-error", ModuleNotFoundError, "No module named 'no_such_module'"),
        ("unknown-hook", ExtensionError, BROKEN["unknown-hook"][1].split(": ", 1)[1]),
        ("startup-raises", RuntimeError, "the reports database is missing"),
    ],
)
def test_strict_re_raises(make_host, tmp_path, case, error, message):
    build(tmp_path, "bad", BROKEN[case][0])
    with pytest.raises(error) as info:
        make_host(extensions_dir=tmp_path / "ext", strict=True)
    assert str(info.value) == message


def test_strict_re_raises_a_refused_archive_and_a_failing_hook(make_host, tmp_path):
    folder = tmp_path / "ext"
    folder.mkdir()
    (folder / "broken.ext").write_bytes(b"not a zip")
    with pytest.raises(ArchiveError) as info:
        make_host(extensions_dir=folder, strict=True)
    assert str(info.value) == (
        "broken.ext: not a zip archive; build it with `ext-host ext pack`"
    )

    (folder / "broken.ext").unlink()
    build(
        tmp_path,
        "raises",
        "class Extension:\n"
        "    @hookimpl\n"
        "    def option_panels(self, host):\n"
        "        raise ValueError('no panel today')\n",
    )
    host = make_host(extensions_dir=folder, data_dir=tmp_path / "data2", strict=True)
    with pytest.raises(ValueError, match="no panel today"):
        host.options.panels()


def test_trace_logs_each_hook_call(make_host, tmp_path, caplog):
    build(tmp_path, "good", GOOD)
    caplog.set_level(logging.INFO, logger="ext_host.host")
    host = make_host(extensions_dir=tmp_path / "ext", trace=True)
    host.options.panels()
    traced = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("hook ")
    ]
    assert traced == [
        "hook startup: calling extension 'good'",
        "hook startup: extension 'good' returned NoneType",
        "hook option_panels: calling extension 'good'",
        "hook option_panels: extension 'good' returned 1 item(s)",
    ]


def test_without_trace_hook_calls_are_not_logged(make_host, tmp_path, caplog):
    build(tmp_path, "good", GOOD)
    caplog.set_level(logging.INFO, logger="ext_host.host")
    host = make_host(extensions_dir=tmp_path / "ext")
    host.options.panels()
    assert [r for r in caplog.records if r.getMessage().startswith("hook ")] == []
