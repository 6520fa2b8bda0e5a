"""The mini-program's pages as the sandbox is told them: every page a message or a code opens is one of them, and
the suite's sandbox refuses a message opening any other page (41030) as WeChat would."""

from __future__ import annotations

import pytest

from models.message_templates import MINIPROGRAM_PAGES, TEMPLATES
from qr.services import MINIPROGRAM_PAGE
from wechat import WeChatGateway, WeChatRequestInvalid


def _path(page: str) -> str:
    return page.split("?", 1)[0]


def test_every_page_a_message_or_a_code_opens_is_a_page_of_the_app():
    opened = {_path(spec["page"]) for spec in TEMPLATES.values() if "page" in spec}
    opened |= {"pages/complaint/detail", "pages/topic/detail"}  # workers.rendering's pages for the others
    assert opened <= set(MINIPROGRAM_PAGES), opened - set(MINIPROGRAM_PAGES)
    assert MINIPROGRAM_PAGE in MINIPROGRAM_PAGES
    assert all("?" not in p and not p.startswith("/") for p in MINIPROGRAM_PAGES)


def test_the_rendered_pages_are_pages_of_the_app():
    from web.messages import MESSAGE_RESULTS
    from workers.rendering import render

    params = {"complaint_id": 7, "topic_id": 3, "meeting_id": 5, "at": "2026-12-06T08:00:00+08:00",
              "starts_at": "2026-12-07T09:00:00+08:00", "category": "设施维修", "title": "路灯", "count": 2,
              "unit_name": "梁堂村", "place": "村委会", "meeting_title": "议事会", "result": "solve",
              "action": "solve", "summary": "待办", "reason": "改期"}
    pages = set()
    for event in TEMPLATES:
        outcome = next(iter(MESSAGE_RESULTS.get(event, {"solve": ""})))
        _template, _data, page = render(event, dict(params, result=outcome, action=outcome))
        pages.add(_path(page))
    assert pages <= set(MINIPROGRAM_PAGES), pages - set(MINIPROGRAM_PAGES)
    assert len(pages) >= 4


@pytest.fixture
def gateway(wechat_sandbox):
    from web.settings import SANDBOX_APPID, SANDBOX_SECRET

    with WeChatGateway(SANDBOX_APPID, SANDBOX_SECRET, base_url=wechat_sandbox.url, timeout=3) as gw:
        yield gw


def test_the_suites_sandbox_refuses_a_page_the_app_does_not_have(wechat_sandbox, gateway):
    from workers.rendering import template_id

    tid = template_id("staff_digest")
    wechat_sandbox.control("POST", "/_sandbox/users", {"openid": "o-pages"})
    wechat_sandbox.subscribe("o-pages", tid)
    data = {"thing1": "您有新的待办事项", "number2": "2", "time3": "2026年12月06日 08:00"}

    with pytest.raises(WeChatRequestInvalid) as caught:
        gateway.send_subscribe_message("o-pages", tid, data, page="pages/nowhere/index?id=1")
    assert caught.value.errcode == 41030
    gateway.send_subscribe_message("o-pages", tid, data, page="pages/staff/index")
    assert [m["page"] for m in wechat_sandbox.messages(openid="o-pages")] == ["pages/staff/index"]
