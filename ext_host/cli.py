"""``ext-host``: the command line for operators, administrators and authors.

Every command calls the same service functions as the web console; no rule
lives here.  Errors print one line on stderr and exit 1 (``--debug`` shows
the traceback instead).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from .errors import HostError, ValidationError
from .logs import redact, setup_logging

#: The host's own top-level commands; extensions may not reuse these names.
HOST_COMMANDS = ("ext", "options", "users", "reports", "serve", "sandbox", "demo")


class Context:
    """Carries the global options and builds the host on first use."""

    def __init__(self, config: str | None, overrides: dict[str, Any], debug: bool):
        self.config_path = config
        self.overrides = overrides
        self.debug = debug
        self._host: Any = None
        self._stamp: str | None = None

    def config(self) -> Any:
        from .config import load_config

        return load_config(self.config_path, **self.overrides)

    def host(self) -> Any:
        if self._host is None:
            from .host import Host

            config = self.config()
            self.command_stamp(config)  # before loading changes sys.path
            self._host = Host(config).start()
        return self._host

    def command_stamp(self, config: Any) -> str | None:
        """The stamp of the extension command cache, taken once per process."""
        if self._stamp is None:
            from . import command_cache

            self._stamp = command_cache.stamp(config) or ""
        return self._stamp or None

    def close(self) -> None:
        if self._host is not None:
            self._host.stop()
            self._host = None


class HostGroup(click.Group):
    """The root group: the host's commands plus those extensions contribute.

    Running an extension's command starts the host and uses its real command.
    Listing them (``ext-host --help``) reads the names and one-line help from
    :mod:`ext_host.command_cache` instead, so help does not import and start
    every extension; the host is started only when the cache is stale.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Click resolves the subcommand and answers --help before the root
        # callback runs, and both need the extension folder: build the
        # Context now from a first look at the global options.
        if not isinstance(ctx.obj, Context):
            try:
                opts, _, _ = self.make_parser(ctx).parse_args(args=list(args))
            except click.UsageError:
                opts = {}  # super().parse_args reports it properly
            setup_logging(bool(opts.get("debug")))
            obj = Context(
                opts.get("config"),
                {
                    "data_dir": opts.get("data_dir"),
                    "extensions_dir": opts.get("extensions_dir"),
                    "strict": opts.get("strict") or None,
                    "trace": opts.get("trace") or None,
                },
                bool(opts.get("debug")),
            )
            ctx.obj = obj
            ctx.call_on_close(obj.close)
        return super().parse_args(ctx, args)

    def _extension_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        obj = ctx.find_object(Context)
        if obj is None and ctx.params:
            # click resolves the subcommand before the group's callback runs,
            # so build the context from the already parsed global options.
            obj = _context_from(ctx)
        if obj is None:
            return {}
        try:
            host = obj.host()
        except HostError:
            return {}
        found: dict[str, click.Command] = {}
        taken = set(HOST_COMMANDS)
        for _, command in host.unique(
            "cli_commands", lambda c: c.name or "", "CLI command", taken
        ):
            found[command.name or ""] = command
        from . import command_cache

        listing = {name: c.get_short_help_str(limit=300) for name, c in found.items()}
        command_cache.write(host.config, obj.command_stamp(host.config), listing)
        return found

    def _listed_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        """Stand-ins carrying each extension command's name and help, for
        listing only; from the cache when it is current."""
        obj = ctx.find_object(Context)
        if obj is None:
            return {}
        from . import command_cache

        try:
            config = obj.config()
        except HostError:
            return {}
        cached = command_cache.read(config, obj.command_stamp(config))
        if cached is None:
            return self._extension_commands(ctx)
        return {
            name: click.Command(name, help=text, short_help=text)
            for name, text in cached.items()
        }

    def format_commands(
        self, ctx: click.Context, formatter: click.HelpFormatter
    ) -> None:
        ctx.meta["ext_host.listing"] = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            ctx.meta["ext_host.listing"] = False

    def _extras(self, ctx: click.Context) -> dict[str, click.Command]:
        if ctx.meta.get("ext_host.listing"):
            return self._listed_commands(ctx)
        return self._extension_commands(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = list(super().list_commands(ctx))
        return names + sorted(self._extras(ctx))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None:
            command = self._extras(ctx).get(name)
        return command


@click.group(cls=HostGroup)
@click.option(
    "--config", "config", type=click.Path(dir_okay=False), help="host.yaml to use"
)
@click.option("--data-dir", type=click.Path(file_okay=False), help="data folder")
@click.option(
    "--extensions-dir", type=click.Path(file_okay=False), help="extension folder"
)
@click.option(
    "--strict", is_flag=True, default=None, help="re-raise extension failures"
)
@click.option("--trace", is_flag=True, default=None, help="log every hook call")
@click.option("--debug", is_flag=True, help="show tracebacks and debug logs")
@click.pass_context
def cli(
    ctx: click.Context,
    config: str | None,
    data_dir: str | None,
    extensions_dir: str | None,
    strict: bool | None,
    trace: bool | None,
    debug: bool,
) -> None:
    """ext-host: a report server with packaged extensions (such as WeCom)."""
    if isinstance(ctx.obj, Context):
        return  # built by HostGroup.parse_args from the same options
    setup_logging(debug)
    if not isinstance(ctx.obj, Context):
        _context_from(ctx)


def _context_from(ctx: click.Context) -> Context:
    params = ctx.params
    overrides = {
        key: params.get(key)
        for key in ("data_dir", "extensions_dir", "strict", "trace")
    }
    obj = Context(params.get("config"), overrides, bool(params.get("debug")))
    ctx.obj = obj
    ctx.call_on_close(obj.close)
    return obj


def host_of(ctx: click.Context) -> Any:
    return ctx.find_object(Context).host()  # type: ignore[union-attr]


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def parse_pairs(pairs: tuple[str, ...], what: str) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.UsageError(f"{what} {pair!r}: expected KEY=VALUE")
        values[key.strip()] = value
    return values


# -- ext ---------------------------------------------------------------------


@cli.group()
def ext() -> None:
    """Extensions: new, pack, check, upload, list, enable, disable, remove."""


@ext.command("pack")
@click.argument("package_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="archive to write"
)
@click.pass_context
def ext_pack(ctx: click.Context, package_dir: str, output: str | None) -> None:
    """Pack PACKAGE_DIR (holding extension.yaml) into an .ext archive.

    Without -o the archive goes into the extension folder as NAME.ext.
    """
    from .archive import pack

    out_dir = None if output else ctx.find_object(Context).config().extensions_dir  # type: ignore[union-attr]
    path = pack(Path(package_dir), Path(output) if output else None, out_dir)
    click.echo(f"packed {path}")


@ext.command("check")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.pass_context
def ext_check(ctx: click.Context, archive: str) -> None:
    """Validate ARCHIVE completely without installing it."""
    from .archive import Limits, check

    config = ctx.find_object(Context).config()  # type: ignore[union-attr]
    limits = Limits(config.max_archive_entries, config.max_archive_bytes)
    info = check(Path(archive), limits)
    m = info.manifest
    click.echo(
        f"ok: {m.name} {m.version}, {len(info.files)} files, sha256 {info.sha256}"
    )


@ext.command("upload")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.pass_context
def ext_upload(ctx: click.Context, archive: str) -> None:
    """Validate ARCHIVE and install it into the extension folder."""
    from .errors import ArchiveError
    from .install import install_archive

    config = ctx.find_object(Context).config()  # type: ignore[union-attr]
    try:
        data = Path(archive).read_bytes()
    except OSError as exc:
        raise ArchiveError(f"{archive}: cannot read ({exc.strerror})") from None
    result = install_archive(config, data, Path(archive).name)
    click.echo(result.message)


@ext.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False),
    default=".",
    help="folder to create the project in (default: the current one)",
)
def ext_new(name: str, parent: str) -> None:
    """Create a working extension project NAME to start from."""
    from .scaffold import scaffold

    project = scaffold(name, Path(parent))
    click.echo(f"created {project}")
    click.echo(f"next: ext-host ext pack {project / ('ext_' + name.replace('-', '_'))}")


@ext.command("list")
@click.option("--json", "as_json", is_flag=True, help="print JSON for scripts")
@click.pass_context
def ext_list(ctx: click.Context, as_json: bool) -> None:
    """Show every extension: name, version, state, source, message, hooks."""
    host = host_of(ctx)
    records = [r.as_dict() for r in host.extensions.values()]
    if as_json:
        echo_json({"extensions": records, "conflicts": host.conflicts})
        return
    if not records:
        click.echo(f"no extensions in {host.config.extensions_dir}")
    for r in records:
        click.echo(f"{r['name']} {r['version'] or '-'}  {r['state']}  {r['source']}")
        if r["message"]:
            click.echo(f"    message: {r['message']}")
        if r["hooks"]:
            click.echo(f"    hooks: {', '.join(r['hooks'])}")
    for conflict in host.conflicts:
        click.echo(f"conflict: {conflict}")


@ext.command("enable")
@click.argument("name")
@click.pass_context
def ext_enable(ctx: click.Context, name: str) -> None:
    """Enable extension NAME (takes effect at the next start)."""
    from .install import set_enabled

    click.echo(set_enabled(host_of(ctx), name, True))


@ext.command("disable")
@click.argument("name")
@click.pass_context
def ext_disable(ctx: click.Context, name: str) -> None:
    """Disable extension NAME (takes effect at the next start)."""
    from .install import set_enabled

    click.echo(set_enabled(host_of(ctx), name, False))


@ext.command("remove")
@click.argument("name")
@click.option("--purge", is_flag=True, help="also delete its stored settings")
@click.pass_context
def ext_remove(ctx: click.Context, name: str, purge: bool) -> None:
    """Remove extension NAME's archive (settings kept unless --purge)."""
    from .install import remove_extension

    click.echo(remove_extension(host_of(ctx), name, purge))


# -- options -----------------------------------------------------------------


@cli.group()
def options() -> None:
    """System options: the panels extensions contribute."""


@options.command("show")
@click.argument("panel", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def options_show(ctx: click.Context, panel: str | None, as_json: bool) -> None:
    """Show PANEL's values (secrets masked), or list the panels."""
    host = host_of(ctx)
    if panel is None:
        for ext_name, p in host.options.panels():
            click.echo(f"{p.name}  {p.label}  (extension {ext_name})")
        return
    values = host.options.public(panel)
    if as_json:
        echo_json(values)
        return
    _, spec = host.options.panel(panel)
    for key, prop in spec.schema.get("properties", {}).items():
        click.echo(f"{key} = {values.get(key, '')}    # {prop.get('title', '')}")


def value_from_stdin(panel: str, key: str) -> str:
    """The value of ``KEY=-``: typed unseen at a terminal, else stdin's first
    line.  Nothing there is an error: it must never clear a stored secret."""
    if sys.stdin.isatty():
        text = click.prompt(key, hide_input=True, default="", show_default=False)
    else:
        text = sys.stdin.readline().rstrip("\r\n")
    if not text.strip():
        raise HostError(
            f"{key}=-: nothing came on stdin; pipe the value in "
            f"(echo VALUE | ext-host options set {panel} {key}=-)"
        )
    return text


@options.command("set")
@click.argument("panel")
@click.argument("pairs", nargs=-1, required=True)
@click.pass_context
def options_set(ctx: click.Context, panel: str, pairs: tuple[str, ...]) -> None:
    """Set PANEL's options: KEY=VALUE ... (KEY=- reads the value from stdin)."""
    host = host_of(ctx)
    values: dict[str, Any] = parse_pairs(pairs, "option")
    for key, value in values.items():
        if value == "-":
            values[key] = value_from_stdin(panel, key)
    warnings = host.options.set(panel, values)
    click.echo(f"saved {len(values)} option(s) of panel {panel}")
    for w in warnings:
        click.echo(f"warning: {w.message}")


@options.command("action")
@click.argument("panel")
@click.argument("action")
@click.pass_context
def options_action(ctx: click.Context, panel: str, action: str) -> None:
    """Run a panel's ACTION button (e.g. wecom generate_link)."""
    result = host_of(ctx).options.run_action(panel, action)
    click.echo(result.message)
    if not result.ok:
        raise SystemExit(1)


# -- users -------------------------------------------------------------------


@cli.group()
def users() -> None:
    """Host users and the fields extensions add to them."""


@users.command("add")
@click.argument("name")
@click.option("--alias", default="")
@click.option("--phone", default="")
@click.option(
    "--password", default=None, help="omit for users who only sign in via WeCom"
)
@click.option("--admin", is_flag=True, help="may use the console")
@click.option("--field", "fields", multiple=True, help="extension field KEY=VALUE")
@click.pass_context
def users_add(
    ctx: click.Context,
    name: str,
    alias: str,
    phone: str,
    password: str | None,
    admin: bool,
    fields: tuple[str, ...],
) -> None:
    """Create user NAME."""
    host = host_of(ctx)
    user = host.users.add(
        name,
        password=password,
        alias=alias,
        phone=phone,
        admin=admin,
        fields=parse_pairs(fields, "field"),
    )
    click.echo(f"created user {user.name}")


@users.command("set")
@click.argument("name")
@click.option("--alias", default=None)
@click.option("--phone", default=None)
@click.option("--enable/--disable", "enabled", default=None)
@click.option("--field", "fields", multiple=True, help="extension field KEY=VALUE")
@click.pass_context
def users_set(
    ctx: click.Context,
    name: str,
    alias: str | None,
    phone: str | None,
    enabled: bool | None,
    fields: tuple[str, ...],
) -> None:
    """Change user NAME."""
    host = host_of(ctx)
    host.users.update(
        name,
        alias=alias,
        phone=phone,
        enabled=enabled,
        fields=parse_pairs(fields, "field"),
    )
    click.echo(f"updated user {name}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> None:
    """List users with their extension fields."""
    host = host_of(ctx)
    all_users = host.users.all()
    if as_json:
        echo_json([u.as_dict() for u in all_users])
        return
    for u in all_users:
        extra = " ".join(f"{k}={v}" for k, v in sorted(u.fields.items()))
        state = "" if u.enabled else " (disabled)"
        click.echo(f"{u.name}{state}  {u.alias}  {u.phone}  {extra}".rstrip())


# -- reports -----------------------------------------------------------------


@cli.group()
def reports() -> None:
    """Reports and their context menus."""


@reports.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def reports_list(ctx: click.Context, as_json: bool) -> None:
    """List reports: id, path, whether published to mobile."""
    host = host_of(ctx)
    items = host.reports.all()
    if as_json:
        echo_json([r.as_dict() for r in items])
        return
    for r in items:
        mobile = "mobile" if r.mobile else "-"
        click.echo(f"{r.id}  {r.path}  {mobile}")


@reports.command("menu")
@click.argument("report")
@click.pass_context
def reports_menu(ctx: click.Context, report: str) -> None:
    """Show the context-menu items of REPORT."""
    host = host_of(ctx)
    host.reports.get(report)
    for ext_name, item in host.menus.items("report"):
        click.echo(f"{item.id}  {item.label}  (extension {ext_name})")


@reports.command("run-menu")
@click.argument("report")
@click.argument("item")
@click.argument("pairs", nargs=-1)
@click.pass_context
def reports_run_menu(
    ctx: click.Context, report: str, item: str, pairs: tuple[str, ...]
) -> None:
    """Choose menu ITEM on REPORT with dialog values KEY=VALUE ..."""
    host = host_of(ctx)
    result = host.menus.run("report", item, report, parse_pairs(pairs, "value"))
    click.echo(result.message)
    if not result.ok:
        raise SystemExit(1)


@reports.command("show")
@click.argument("report")
@click.option("--as", "as_user", default=None, help="run as this user")
@click.pass_context
def reports_show(ctx: click.Context, report: str, as_user: str | None) -> None:
    """Print REPORT's rows."""
    host = host_of(ctx)
    user = host.users.get(as_user) if as_user else None
    data = host.reports.run(host.reports.get(report), user)
    click.echo("\t".join(data.columns))
    for row in data.rows:
        click.echo("\t".join(str(v) for v in row))


# -- serving, sandbox, demo --------------------------------------------------


@cli.command("serve")
@click.option("--listen", default=None, help="HOST:PORT (default from host.yaml)")
@click.pass_context
def serve_cmd(ctx: click.Context, listen: str | None) -> None:
    """Serve the web app (portal, reports, console) with waitress."""
    obj = ctx.find_object(Context)
    if listen:
        obj.overrides["listen"] = listen  # type: ignore[union-attr]
    host = host_of(ctx)
    from .web import serve

    click.echo(f"serving on http://{host.config.listen} (Ctrl-C stops)")
    if not obj.debug:  # type: ignore[union-attr]
        # A server's log says what it did (a push resumed, a sign-in refused);
        # secrets are masked by the log formatter whatever the level.
        logging.getLogger().setLevel(logging.INFO)
    serve(host)


@cli.command(
    "sandbox",
    context_settings={"ignore_unknown_options": True},
    add_help_option=False,  # --help goes to the sandbox, which lists its options
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def sandbox_cmd(args: tuple[str, ...]) -> None:
    """Run the WeCom sandbox for a person (see docs/sandbox.md; --help for options)."""
    from wecom_sandbox import main as sandbox_main

    raise SystemExit(sandbox_main(list(args)))


@cli.command("demo")
@click.option("--keep", is_flag=True, help="keep the data folder and print its path")
@click.pass_context
def demo_cmd(ctx: click.Context, keep: bool) -> None:
    """Run the whole flow on the embedded defaults: sandbox, host, push, tap, report."""
    from .demo import run_demo

    obj = ctx.find_object(Context)
    assert obj is not None
    raise SystemExit(
        run_demo(obj.config_path, obj.overrides, keep=keep, echo=click.echo)
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ext-host`` console script."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="ext-host", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except ValidationError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        return 1
    except HostError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        return 1
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except Exception as exc:
        if debug:
            raise
        detail = redact(f"{type(exc).__name__}: {exc}")
        click.echo(
            f"error: unexpected failure ({detail}); --debug shows where", err=True
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
