"""The one message catalogue: stable English codes and states to the Chinese people read."""

from __future__ import annotations

ERRORS = {
    "bad_request": "请求格式不正确。",
    "json_required": "请以 JSON 格式提交。",
    "unknown_field": "包含不允许的字段：{field}。",
    "field_required": "缺少必填项：{field}。",
    "field_invalid": "字段格式不正确：{field}。",
    "login_code_missing": "缺少微信登录凭证，请重新进入小程序。",
    "login_code_invalid": "微信登录凭证无效或已过期，请重新进入小程序。",
    "wechat_unavailable": "微信服务暂时无法连接，请稍后再试。",
    "session_missing": "请先登录。",
    "session_invalid": "登录状态无效，请重新进入小程序。",
    "session_expired": "登录已过期，请重新进入小程序。",
    "scene_missing": "缺少二维码信息，请重新扫码。",
    "scene_unknown": "未找到这个二维码对应的单位，请确认二维码来自本社区的公示牌。",
    "scene_revoked": "这个二维码已被更换，请扫描公示牌上的新码。",
    "category_unknown": "请选择一个问题类别。",
    "text_empty": "请描述您遇到的问题。",
    "text_too_long": "问题描述不能超过 {limit} 字。",
    "complaint_not_found": "未找到这条反映。",
    "topic_not_found": "未找到这个议题。",
    "not_found": "页面不存在。",
    "complaint_transition_not_allowed": "这条反映当前状态不允许此操作，可能已被他人处理，请刷新后查看。",
    "topic_transition_not_allowed": "这个议题当前状态不允许此操作，可能已被他人处理，请刷新后查看。",
    "stale_form": "这条内容已被他人更新，请刷新后再操作。",
    "csrf_invalid": "页面已过期，请刷新后重新提交。",
    "signin_failed": "用户名或密码不正确。",
    "signin_required": "请先登录。",
    "title_empty": "请填写议题名称。",
    "title_too_long": "议题名称不能超过 {limit} 字。",
    "reason_required": "请选择不予协商的理由。",
    "reason_unknown": "未知的理由代码。",
    "reply_empty": "请填写给居民的答复。",
    "deliberation_category_unknown": "请选择议题类别。",
    "rate_limited": "操作太频繁，请稍后再试。",
    "method_not_allowed": "不支持的请求方式。",
    "server_error": "服务器出了点问题，请稍后再试。",
}

COMPLAINT_STATES = {
    "submitted": "已提交",
    "awaiting_triage": "待网格员分拣",
    "not_deliberable": "不予协商，已答复",
    "solved": "已在网格解决",
    "merged": "已合并",
    "promoted": "已转为协商议题",
    "closed": "已办结",
}

TOPIC_STATES = {
    "proposed": "待审定",
    "approved": "已审定",
    "rejected": "未通过审定",
    "merged": "已合并",
    "scheduled": "已安排议事会",
    "agreed": "已达成共识",
    "no_consensus": "未达成共识",
    "referred": "提交居民会议",
    "implementing": "正在落实",
    "implemented": "已落实",
    "closed": "已办结",
}

# What a resident reads on their timeline for each audited action.
TIMELINE = {
    ("complaint", "submit"): "您的反映已提交",
    ("complaint", "accept"): "已受理，等待网格员分拣",
    ("complaint", "decline"): "经分拣不予协商，已答复",
    ("complaint", "solve"): "网格员已解决",
    ("complaint", "merge"): "与相同问题合并办理",
    ("complaint", "escalate"): "已上报上级单位",
    ("complaint", "promote"): "已转为协商议题",
    ("complaint", "reopen"): "重新分拣",
    ("complaint", "close"): "已办结",
    ("topic", "approve"): "议题已通过审定",
    ("topic", "reject"): "议题未通过审定",
    ("topic", "schedule"): "已安排议事会",
    ("topic", "agree"): "议事会达成共识",
    ("topic", "disagree"): "议事会未达成共识",
    ("topic", "refer"): "提交居民会议决议",
    ("topic", "start"): "开始落实",
    ("topic", "complete"): "已落实",
    ("topic", "reopen"): "重新落实",
    ("topic", "close"): "已办结",
}

# 三议: the default rule set's deliberable categories, and 四不议: its reason codes for "not deliberable".
DELIBERATION_CATEGORIES = {
    "major_affairs": "党政工作要事",
    "livelihood": "民生改善实事",
    "governance": "社会治理难事",
}
DEFAULT_REASONS = {
    "against_policy": "违反政策原则",
    "individual_dispute": "个体矛盾",
    "unfair": "有失公平",
    "serious_disagreement": "严重分歧",
}

COMPLAINT_CATEGORIES = [
    "环境污染", "安全出行", "飞线充电", "饲养宠物", "物业管理", "停车", "老旧小区改造", "设施维修", "邻里纠纷", "其他",
]


def error_text(code: str, params: dict | None = None) -> str:
    text = ERRORS.get(code, ERRORS["bad_request"])
    try:
        return text.format(**(params or {}))
    except (KeyError, IndexError):
        return text
