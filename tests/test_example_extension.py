"""The hello example (examples/ext_hello), packed and loaded: one test per hook,
each through the surface a person uses (store, options, users, menus, HTTP,
CLI, sign-in redirect).  ``test_hooks_meta.py`` requires a ``test_hook_NAME``
here for every hook."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys

import pytest
import requests
from stackkit import REPO

from ext_host import hookspecs
from ext_host.archive import check, pack
from ext_host.errors import ValidationError
from ext_host.web import start_server

EXAMPLE = REPO / "examples" / "ext_hello"


@pytest.fixture(scope="module")
def hello_archive(tmp_path_factory):
    return pack(EXAMPLE, out_dir=tmp_path_factory.mktemp("hello"))


@pytest.fixture
def host(make_host, hello_archive):
    return make_host([hello_archive])


@pytest.fixture
def served(host):
    server = start_server(host)
    yield host, server
    server.stop()


def events(database) -> list[str]:
    conn = sqlite3.connect(database)
    try:
        return [row[0] for row in conn.execute("SELECT kind FROM hello_events")]
    finally:
        conn.close()


def test_the_example_packs_checks_and_implements_every_hook(host, hello_archive):
    info = check(hello_archive)
    assert (info.manifest.name, str(info.manifest.version)) == ("hello", "1.0.0")
    assert info.files == (
        "ext_hello/__init__.py",
        "ext_hello/plugin.py",
    )
    record = host.extensions["hello"]
    assert (record.state, record.message, record.alias) == ("loaded", "", "Hello 你好")
    assert record.hooks == sorted(hookspecs.HOOK_NAMES)


def test_hook_startup(host):
    assert events(host.config.database) == ["startup"]


def test_hook_shutdown(host):
    host.stop()
    assert events(host.config.database) == ["startup", "shutdown"]


def test_hook_serving(host):
    host.serving()
    assert events(host.config.database) == ["startup", "serving"]


def test_hook_option_panels(host):
    [(ext, panel)] = host.options.panels()
    assert (ext, panel.name, panel.label) == ("hello", "hello", "你好 Hello")
    assert host.options.get("hello") == {"greeting": "Hello", "sign_in_page": ""}
    host.options.set("hello", {"greeting": "Bonjour"})
    assert host.options.run_action("hello", "preview").message == "Bonjour, world!"
    with pytest.raises(ValidationError) as info:
        host.options.set("hello", {"greeting": "x" * 41})
    assert str(info.value) == "问候语 Greeting: is longer than 40 characters"


def test_hook_user_fields(host):
    assert list(host.users.fields()) == ["hello.nickname"]
    host.users.add("amy", fields={"hello.nickname": "Ames"})
    assert host.users.get("amy").fields == {"hello.nickname": "Ames"}
    with pytest.raises(ValidationError) as info:
        host.users.add("bob", fields={"hello.nickname": "b" * 21})
    assert str(info.value) == "昵称 Nickname: at most 20 characters"


def test_hook_menu_items(host):
    [(ext, item)] = host.menus.items("report")
    assert (ext, item.id, item.label) == ("hello", "hello.greet", "问候 Say hello")
    assert host.menus.prefill("report", "hello.greet", "group-report") == {
        "name": "world"
    }
    result = host.menus.run("report", "hello.greet", "group-report", {"name": "Li"})
    assert (result.ok, result.message) == (
        True,
        "Hello, Li! (from report group-report)",
    )


def test_hook_http_routes(served):
    _, server = served
    page = requests.get(f"{server.url}/hello/%3Cscript%3Ealert(1)", timeout=10)
    assert page.status_code == 200
    assert "Hello, &lt;script&gt;alert(1)!" in page.text
    assert "<script>alert" not in page.text


def test_an_extension_page_joins_the_console(served):
    host, server = served
    host.users.add("root", admin=True, password="root-Pass-1")
    assert (
        requests.get(f"{server.url}/console/hello/events", timeout=10).status_code
        == 403
    )
    session = requests.Session()
    page = session.get(f"{server.url}/console/login", timeout=10).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    session.post(
        f"{server.url}/console/login",
        data={"name": "root", "password": "root-Pass-1", "csrf_token": token},
        timeout=10,
    )
    events_page = session.get(f"{server.url}/console/hello/events", timeout=10)
    assert events_page.status_code == 200
    assert '<ul id="events"><li>startup</li></ul>' in events_page.text
    assert (
        '<a href="/console/hello/events" class="active">事件 <small>Events</small></a>'
        in events_page.text
    )
    assert "退出 Sign out" in events_page.text


def test_hook_cli_commands(host, hello_archive, tmp_path):
    host.options.set("hello", {"greeting": "Hola"})
    host.stop()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ext_host.cli",
            "--data-dir",
            str(host.config.data_dir),
            "--extensions-dir",
            str(host.config.extensions_dir),
            "hello",
            "Ana",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "Hola, Ana!\n", "")


def test_hook_sign_in_url(served):
    host, server = served
    plain = requests.get(
        f"{server.url}/vision/mobile", allow_redirects=False, timeout=10
    )
    assert plain.status_code == 401  # no extension offers a sign-in: the host's page

    host.options.set("hello", {"sign_in_page": "/hello/sign-in"})
    sent = requests.get(
        f"{server.url}/vision/reports/group-report", allow_redirects=False, timeout=10
    )
    assert (sent.status_code, sent.headers["Location"]) == (
        302,
        "/hello/sign-in?next=%2Fvision%2Freports%2Fgroup-report",
    )
