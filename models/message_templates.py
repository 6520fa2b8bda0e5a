"""The notification template catalogue: for each event, the subscribe-message template it sends and how its fields
are filled, and WeChat's rule for each field type. The template ids are the account's own
(web.settings.template_id); the embedded sandbox is given the same table so it checks every field. The words of
each field live in the message catalogue (web.messages); workers/rendering.py puts them together.
"""

from __future__ import annotations

import re
from typing import Any

# event -> (title, kind, {field key: (label, source[, fallback])}). A source is
#   "name"       the notification's params[name], shown whole or not at all;
#   "=word"      the fixed words web.messages.MESSAGE_WORDS[word];
#   "@results"   web.messages.MESSAGE_RESULTS[event][outcome], the outcome being params "result" or else "action";
#   "@details"   web.messages.MESSAGE_DETAILS[outcome].
# A fallback is used when the source's value is missing or does not fit the field type: text people typed (a
# title, a place, a unit's name) is shown whole when it fits and never cut; the page a tap opens shows it all.
MEETING_PAGE = "pages/meeting/detail?id={meeting_id}"  # the meeting's own page in the mini-program
TOPIC_PAGE = "pages/topic/detail?id={topic_id}"  # the topic's own page: its progress, its reply, its rating
STAFF_PAGE = "pages/staff/index?from=message"  # the mini-program's staff page (where staff bind WeChat)
# The mini-program's pages (its app.json), every page a message opens among them: the WeChat sandbox of the tests
# and of `xinma up` is told them, so a message opening any other page is refused (41030) as WeChat refuses it.
MINIPROGRAM_PAGES = ("pages/index/index", "pages/report/index", "pages/complaint/detail", "pages/topic/detail",
                     "pages/meeting/detail", "pages/staff/index")
TEMPLATES: dict[str, dict[str, Any]] = {
    "complaint_received": {
        "title": "问题受理通知", "kind": "one_time",
        "fields": {"thing1": ("问题类别", "category", "=your_complaint"),
                   "thing2": ("反映地点", "unit_name", "=see_place"),
                   "phrase3": ("受理状态", "=received"), "time4": ("提交时间", "at")},
    },
    "complaint_triaged": {
        "title": "诉求处理进度通知", "kind": "one_time",
        "fields": {"thing1": ("问题类别", "category", "=your_complaint"), "phrase2": ("处理结果", "@results"),
                   "thing3": ("说明", "detail", "@details"), "time4": ("处理时间", "at")},
    },
    "topic_proposed": {
        "title": "议题待审定提醒", "kind": "long_term", "page": "pages/topic/detail?id={topic_id}",
        "fields": {"thing1": ("议题名称", "title", "=new_topic"), "thing2": ("所属单位", "unit_name", "=see_unit"),
                   "time3": ("提出时间", "at"), "thing4": ("备注", "=review_please")},
    },
    "topic_approved": {
        "title": "议题审定结果通知", "kind": "one_time", "page": TOPIC_PAGE,
        "fields": {"thing1": ("议题名称", "title", "=your_topic"), "phrase2": ("审定结果", "=approved"),
                   "thing3": ("下一步", "=approved_next"), "time4": ("审定时间", "at")},
    },
    "topic_progress": {
        "title": "议题进展通知", "kind": "one_time", "page": TOPIC_PAGE,
        "fields": {"thing1": ("议题名称", "title", "=your_topic"), "phrase2": ("当前进展", "@results"),
                   "time3": ("更新时间", "at")},
    },
    "rating_requested": {
        "title": "回访评价邀请", "kind": "one_time", "page": TOPIC_PAGE,
        "fields": {"thing1": ("议题名称", "title", "=your_topic"), "phrase2": ("落实情况", "=implemented"),
                   "thing3": ("温馨提示", "=rate_please"), "time4": ("落实时间", "at")},
    },
    "meeting_registered": {
        "title": "议事会报名成功通知", "kind": "one_time", "page": MEETING_PAGE,
        "fields": {"thing1": ("会议名称", "meeting_title", "=your_meeting"), "time2": ("会议时间", "starts_at"),
                   "thing3": ("会议地点", "place", "=see_place")},
    },
    "meeting_reminder": {
        "title": "议事会开会提醒", "kind": "one_time", "page": MEETING_PAGE,
        "fields": {"thing1": ("会议名称", "meeting_title", "=your_meeting"), "time2": ("会议时间", "starts_at"),
                   "thing3": ("会议地点", "place", "=see_place")},
    },
    "topic_published": {
        "title": "议题结果公开通知", "kind": "one_time", "page": TOPIC_PAGE,
        "fields": {"thing1": ("议题名称", "title", "=your_topic"), "phrase2": ("公开类型", "@results"),
                   "time3": ("公开时间", "at")},
    },
    "meeting_invitation": {
        "title": "议事会参会邀请", "kind": "one_time", "page": MEETING_PAGE,
        "fields": {"thing1": ("会议名称", "meeting_title", "=your_meeting"), "time2": ("会议时间", "starts_at"),
                   "thing3": ("会议地点", "place", "=see_place")},
    },
    "meeting_changed": {
        "title": "议事会变更通知", "kind": "one_time", "page": MEETING_PAGE,
        "fields": {"thing1": ("会议名称", "meeting_title", "=your_meeting"), "phrase2": ("变更情况", "@results"),
                   "time3": ("会议时间", "starts_at"), "thing4": ("会议地点", "place", "=see_place"),
                   "thing5": ("说明", "reason", "=see_details")},
    },
    "complaint_new_in_unit": {  # gathered per grid worker (models.notify.BATCHED_EVENTS): count is the batch's
        "title": "新反映提醒", "kind": "long_term", "page": STAFF_PAGE,
        "fields": {"thing1": ("所属网格", "unit_name", "=your_units"), "number2": ("新反映数量", "count"),
                   "time3": ("提交时间", "at")},
    },
    "complaint_note_added": {  # gathered per grid worker, as above
        "title": "居民补充信息提醒", "kind": "long_term", "page": STAFF_PAGE,
        "fields": {"thing1": ("所属网格", "unit_name", "=your_units"), "number2": ("补充条数", "count"),
                   "time3": ("补充时间", "at")},
    },
    "staff_digest": {
        "title": "每日待办汇总", "kind": "long_term",
        "fields": {"thing1": ("待办概要", "summary", "=digest"), "number2": ("事项数量", "count"),
                   "time3": ("汇总时间", "at")},
    },
    "overdue_digest": {
        "title": "领办事项逾期提醒", "kind": "long_term",
        "fields": {"thing1": ("逾期事项", "summary", "=overdue"), "thing2": ("所属单位", "unit_name", "=see_unit"),
                   "time3": ("统计时间", "at")},
    },
}

# What WeChat accepts in each field type this catalogue uses (subscribeMessage.send, "订阅消息参数值内容限制说明"):
# thing up to 20 characters of any printable kind; phrase 1 to 5 Chinese characters and nothing else; number
# digits (32 at most); time a 24-hour time, here always with its date.
_CJK = "\u4e00-\u9fff\u3400-\u4dbf"
_RULES = {
    "thing": lambda v: 0 < len(v) <= 20 and v.isprintable(),
    "phrase": lambda v: re.fullmatch(f"[{_CJK}]{{1,5}}", v) is not None,
    "number": lambda v: re.fullmatch(r"\d{1,32}", v) is not None,
    "time": lambda v: re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 (?:[01]\d|2[0-3]):[0-5]\d", v) is not None,
}


def field_type(key: str) -> str:
    """The type of a data key ("thing3" -> "thing")."""
    return key.rstrip("0123456789")


def fits(key: str, value: object) -> bool:
    """Whether WeChat accepts `value` whole in field `key` (a type this catalogue does not use is refused)."""
    rule = _RULES.get(field_type(key))
    return isinstance(value, str) and rule is not None and bool(rule(value))
