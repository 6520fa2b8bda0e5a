"""Helpers the council tests share: staff sessions with CSRF, China-time form values, reading figures off pages."""

from __future__ import annotations

import datetime as dt
import html
import re

from models.base import CHINA

PASSWORD = "xinma-demo"


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def version(page: str) -> str:
    return re.search(r'name="version" value="([^"]+)"', page).group(1)


def local_input(moment: dt.datetime) -> str:
    """A datetime-local field's value for `moment`, as a secretary in China would type it."""
    return moment.astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")


def china_today(days: int = 0) -> str:
    return (dt.datetime.now(CHINA).date() + dt.timedelta(days=days)).isoformat()


def figures(page: str) -> dict[str, str]:
    """Every figure on the statistics page: label -> the value shown."""
    return {html.unescape(k): html.unescape(v.strip())
            for k, v in re.findall(r'data-figure="([^"]+)">([^<]*)<', page)}


def wechat_time(moment: dt.datetime) -> str:
    moment = moment.astimezone(CHINA)
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"
