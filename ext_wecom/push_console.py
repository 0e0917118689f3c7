"""The push history in the console: ``/console/wecom/pushes`` and
``/console/wecom/pushes/<id>``, for administrators only.

Pages extend the host's ``base.html``; Flask's autoescaping covers every value
(titles and reasons come from users and from WeCom).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ext_host.api import NotFound, Route, console_page, message_page

from . import limits, outbox

LIST = """<h2>推送记录 Push history</h2>
<p class="muted">今日发送 Sent today (China time):
{% for name, used in quota %}{{ name }} {{ used }}{% if not loop.last %}, {% endif %}{% endfor %}</p>
<table id="pushes">
<tr><th>编号 ID</th><th>时间 Time</th><th>应用 App</th><th>状态 State</th>
<th>接收人 Recipients</th><th>标题 Title</th><th>操作人 By</th></tr>
{% for p in pushes %}
<tr><td><a href="/console/wecom/pushes/{{ p.id }}">{{ p.id }}</a></td>
<td>{{ when(p.created_at) }}</td><td>{{ p.app_name }}</td>
<td class="state">{{ p.state }}</td><td>{{ p.described }}</td><td>{{ p.title }}</td>
<td>{{ p.actor or "-" }}</td></tr>
{% else %}
<tr><td colspan="7">还没有推送 No pushes yet</td></tr>
{% endfor %}
</table>"""

DETAIL = """<h2>推送 Push {{ push.id }}</h2>
<p><a href="/console/wecom/pushes">&larr; 推送记录 Push history</a></p>
<div class="box">
<p>状态 State: <strong id="state">{{ push.state }}</strong> ·
报表 Report {{ push.report_id }} · 应用 App {{ push.app_name }} ({{ push.agentid }}) ·
{{ when(push.created_at) }} · {{ push.actor or "-" }}</p>
<p>标题 Title: <span id="title">{{ push.title }}</span></p>
{% for note in notes %}<p class="muted">{{ note }}</p>{% endfor %}
</div>
<h3>分批 Chunks</h3>
<table id="chunks">
<tr><th>#</th><th>状态 State</th><th>成员 Users</th><th>部门 Departments</th>
<th>标签 Tags</th><th>errcode</th><th>尝试 Tries</th><th>msgid</th><th>说明 Message</th></tr>
{% for c in chunks %}
<tr><td>{{ c.seq }}</td><td>{{ c.state }}{% if c.state == "deferred" %}
until {{ when(c.not_before) }}{% endif %}</td><td>{{ c.users }}</td>
<td>{{ c.departments }}</td><td>{{ c.tags }}</td>
<td>{{ "-" if c.errcode is none else c.errcode }}</td><td>{{ c.tries }}</td>
<td>{{ c.msgid or "-" }}</td><td>{{ c.errmsg }}</td></tr>
{% endfor %}
</table>
<h3>接收人 Recipients</h3>
<table id="recipients">
<tr><th>类型 Kind</th><th>ID</th><th>用户 User</th><th>分批 Chunk</th>
<th>状态 State</th><th>原因 Reason</th></tr>
{% for r in people %}
<tr><td>{{ r.kind }}</td><td>{{ r.id }}</td><td>{{ r.source or "-" }}</td>
<td>{{ r.chunk_seq or "-" }}</td><td>{{ r.state }}</td><td>{{ r.reason }}</td></tr>
{% endfor %}
</table>"""


def _when(ts: float | None) -> str:
    if not ts:
        return "-"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _refused(host: Any) -> Any:
    if host.current_admin() is not None:
        return None
    return message_page(
        "无权访问 No access",
        "只有管理员可以查看推送记录。 Only administrators may see the push history.",
        403,
    )


def routes(host: Any) -> list[Route]:
    def pushes() -> Any:
        refused = _refused(host)
        if refused is not None:
            return refused
        rows = host.store.query("SELECT * FROM wecom_pushes ORDER BY id DESC LIMIT 200")
        apps_seen = host.store.query(
            "SELECT DISTINCT agentid, app_name FROM wecom_pushes ORDER BY agentid"
        )
        quota = [
            (a["app_name"], limits.quota_used(host.store, a["agentid"]))
            for a in apps_seen
        ]
        return console_page(
            LIST,
            title="推送记录 Push history",
            pushes=rows,
            quota=quota,
            when=_when,
        )

    def push_detail(push_id: int) -> Any:
        refused = _refused(host)
        if refused is not None:
            return refused
        try:
            row = outbox.push_row(host, push_id)
        except NotFound as exc:
            return message_page("推送不存在 No such push", str(exc), 404)
        return console_page(
            DETAIL,
            title=f"推送 Push {push_id}",
            push=row,
            notes=json.loads(row["notes"] or "[]"),
            chunks=outbox.chunks(host, push_id),
            people=outbox.recipients(host, push_id),
            when=_when,
        )

    return [
        Route(
            "/console/wecom/pushes",
            pushes,
            endpoint="wecom.pushes",
            nav="推送记录 Push history",
        ),
        Route(
            "/console/wecom/pushes/<int:push_id>",
            push_detail,
            endpoint="wecom.push_detail",
        ),
    ]
