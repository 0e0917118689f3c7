"""Load order is the host's decision: dependencies and ``before`` first, then
priority, then name; the same folder gives the same order however it is
listed.  Discovery counts each archive once and refuses a second archive of
the same name, naming both files."""

from __future__ import annotations

import os
import random
import shutil

import pytest
from extkit import write_extension

from ext_host.errors import ExtensionError
from ext_host.loader import discover_archives, order
from ext_host.manifest import manifest_from_dict


def m(name: str, **fields: object):
    return manifest_from_dict(
        {"name": name, "version": "1.0", "entry": f"{name}.plugin", **fields}, name
    )


SET = [
    m("zeta"),
    m("alpha"),
    m("base", priority=500),
    m("reports", depends=["base >=1.0"]),
    m("early", priority=1),
    m("theme", before=["alpha"], priority=900),
    m("mid", priority=100),
]
EXPECTED = ["early", "mid", "zeta", "base", "reports", "theme", "alpha"]


def test_dependencies_and_before_then_priority_then_name():
    assert [x.name for x in order(SET)] == EXPECTED


@pytest.mark.parametrize("seed", range(25))
def test_shuffled_input_gives_the_same_order(seed):
    shuffled = list(SET)
    random.Random(seed).shuffle(shuffled)
    assert [x.name for x in order(shuffled)] == EXPECTED


def test_a_cycle_is_an_error_naming_it():
    with pytest.raises(ExtensionError) as info:
        order([m("a", depends=["b"], before=["c"]), m("b", depends=["c"]), m("c")])
    # a needs b, b needs c, and c must wait for a
    assert str(info.value) == "extension order has a cycle: a -> b -> c -> a"


def test_unknown_names_in_depends_and_before_do_not_change_the_order():
    assert [x.name for x in order([m("b", before=["nobody"]), m("a")])] == ["a", "b"]


@pytest.mark.parametrize("seed", range(4))
def test_a_folder_written_in_any_order_loads_in_one_order(make_host, tmp_path, seed):
    built = {
        name: write_extension(tmp_path / "src", name, out_dir=tmp_path / "b", **extra)
        for name, extra in [
            ("base", {"priority": 300}),
            ("extra", {"depends": ["base"]}),
            ("first", {"priority": 5}),
            ("plain", {}),
            ("aaa", {"before": ["first"]}),
        ]
    }
    names = list(built)
    random.Random(seed).shuffle(names)
    folder = tmp_path / f"ext{seed}"
    folder.mkdir()
    for name in names:  # creation order differs per seed
        shutil.copy(built[name], folder / f"{name}.ext")
    host = make_host(extensions_dir=folder, data_dir=tmp_path / f"data{seed}")
    assert [r.name for r in host.loaded()] == ["aaa", "first", "plain", "base", "extra"]


def test_a_symlink_to_an_archive_loads_it_once_under_the_real_name(make_host, tmp_path):
    archive = write_extension(tmp_path / "src", "demo", out_dir=tmp_path / "b")
    folder = tmp_path / "ext"
    folder.mkdir()
    shutil.copy(archive, folder / "zz-demo.ext")
    (folder / "aa-alias.ext").symlink_to(folder / "zz-demo.ext")
    os.link(folder / "zz-demo.ext", folder / "zz-hardlink.ext")
    assert [p.name for p in discover_archives(folder)] == ["zz-demo.ext"]
    host = make_host(extensions_dir=folder)
    assert [(name, r.source) for name, r in host.extensions.items()] == [
        ("demo", str(folder / "zz-demo.ext"))
    ]


def test_symlinks_only_the_first_alias_by_name_wins(tmp_path):
    real = tmp_path / "elsewhere.ext"
    real.write_bytes(b"x")
    folder = tmp_path / "ext"
    folder.mkdir()
    for name in ("b.ext", "a.ext", "c.ext"):
        (folder / name).symlink_to(real)
    (folder / "dangling.ext").symlink_to(tmp_path / "missing.ext")
    (folder / "dir.ext").mkdir()
    assert [p.name for p in discover_archives(folder)] == ["a.ext"]


def test_two_archives_of_one_name_the_second_is_refused_naming_both(
    make_host, tmp_path
):
    one = write_extension(tmp_path / "s1", "demo", out_dir=tmp_path / "b1")
    two = write_extension(
        tmp_path / "s2", "demo", out_dir=tmp_path / "b2", version="2.0.0"
    )
    folder = tmp_path / "ext"
    folder.mkdir()
    shutil.copy(two, folder / "b-demo.ext")
    shutil.copy(one, folder / "a-demo.ext")
    host = make_host(extensions_dir=folder)
    first, second = str(folder / "a-demo.ext"), str(folder / "b-demo.ext")
    assert [
        (key, r.state, r.version, r.message) for key, r in host.extensions.items()
    ] == [
        ("demo", "loaded", "1.0.0", ""),
        (
            f"demo ({second})",
            "failed",
            "2.0.0",
            f"duplicate extension name 'demo': {second} refused, {first} is used; "
            "remove one of them",
        ),
    ]


def test_load_env_limits_which_extensions_load(make_host, tmp_path):
    for name in ("one", "two"):
        write_extension(tmp_path / "src", name, out_dir=tmp_path / "ext")
    host = make_host(extensions_dir=tmp_path / "ext", load_only=frozenset({"two"}))
    assert [(r.name, r.state, r.message) for r in host.extensions.values()] == [
        ("two", "loaded", ""),
        ("one", "disabled", "not named in EXT_HOST_LOAD_EXTENSIONS"),
    ]


def test_load_env_read_from_the_environment(tmp_path):
    from ext_host.config import DEFAULT_CONFIG, LOAD_ENV, load_config

    assert load_config(DEFAULT_CONFIG, env={}).load_only is None
    assert load_config(DEFAULT_CONFIG, env={LOAD_ENV: ""}).load_only == frozenset()
    assert load_config(
        DEFAULT_CONFIG, env={LOAD_ENV: " wecom , hello,"}
    ).load_only == frozenset({"wecom", "hello"})


def test_an_empty_load_env_loads_none(make_host, tmp_path):
    write_extension(tmp_path / "src", "one", out_dir=tmp_path / "ext")
    host = make_host(extensions_dir=tmp_path / "ext", load_only=frozenset())
    assert host.loaded() == []
    assert host.extensions["one"].state == "disabled"
