"""The notification template catalogue: for each event, the subscribe-message template it sends and how its fields
are filled. The template ids are the account's own (web.settings.template_id); the embedded sandbox is given the
same table so it checks every field.
"""

from __future__ import annotations

from typing import Any

# event -> (title, kind, {field key: (label, source)}); a source is a params key or "=literal".
TEMPLATES: dict[str, dict[str, Any]] = {
    "complaint_received": {
        "title": "问题受理通知", "kind": "one_time",
        "fields": {"thing1": ("问题类别", "category"), "thing2": ("反映地点", "unit_name"),
                   "phrase3": ("受理状态", "=已受理"), "time4": ("提交时间", "at")},
    },
    "complaint_triaged": {
        "title": "诉求处理进度通知", "kind": "one_time",
        "fields": {"thing1": ("问题类别", "category"), "phrase2": ("处理结果", "result"),
                   "thing3": ("说明", "reason"), "time4": ("处理时间", "at")},
    },
    "topic_proposed": {
        "title": "议题待审定提醒", "kind": "long_term", "page": "pages/topic/detail?id={topic_id}",
        "fields": {"thing1": ("议题名称", "title"), "thing2": ("所属单位", "unit_name"),
                   "time3": ("提出时间", "at"), "thing4": ("备注", "=请及时审定议题")},
    },
    "topic_approved": {
        "title": "议题审定结果通知", "kind": "one_time",
        "fields": {"thing1": ("议题名称", "title"), "phrase2": ("审定结果", "=已审定"),
                   "thing3": ("下一步", "=将安排议事会协商"), "time4": ("审定时间", "at")},
    },
    "topic_progress": {
        "title": "议题进展通知", "kind": "one_time",
        "fields": {"thing1": ("议题名称", "title"), "phrase2": ("当前进展", "state_label"),
                   "time3": ("更新时间", "at")},
    },
    "rating_requested": {
        "title": "回访评价邀请", "kind": "one_time",
        "fields": {"thing1": ("议题名称", "title"), "phrase2": ("落实情况", "=已落实"),
                   "thing3": ("温馨提示", "=请对办理结果作出评价"), "time4": ("落实时间", "at")},
    },
    "meeting_registered": {
        "title": "议事会报名成功通知", "kind": "one_time",
        "fields": {"thing1": ("会议名称", "meeting_title"), "time2": ("会议时间", "starts_at"),
                   "thing3": ("会议地点", "place")},
    },
    "meeting_reminder": {
        "title": "议事会开会提醒", "kind": "one_time",
        "fields": {"thing1": ("会议名称", "meeting_title"), "time2": ("会议时间", "starts_at"),
                   "thing3": ("会议地点", "place")},
    },
    "topic_published": {
        "title": "议题结果公开通知", "kind": "one_time",
        "fields": {"thing1": ("议题名称", "title"), "phrase2": ("公开类型", "kind_label"),
                   "time3": ("公开时间", "at")},
    },
    "meeting_invitation": {
        "title": "议事会参会邀请", "kind": "one_time",
        "fields": {"thing1": ("会议名称", "meeting_title"), "time2": ("会议时间", "starts_at"),
                   "thing3": ("会议地点", "place")},
    },
    "staff_digest": {
        "title": "每日待办汇总", "kind": "long_term",
        "fields": {"thing1": ("待办概要", "summary"), "number2": ("事项数量", "count"),
                   "time3": ("汇总时间", "at")},
    },
    "overdue_digest": {
        "title": "领办事项逾期提醒", "kind": "long_term",
        "fields": {"thing1": ("逾期事项", "summary"), "thing2": ("所属单位", "unit_name"),
                   "time3": ("统计时间", "at")},
    },
}

LIMITS = {"thing": 20, "phrase": 5, "name": 10, "character_string": 32, "number": 32}
