"""Secretaries' pages: topics, meetings, 领办, 回访, disclosure, statistics. Imports `models`, `wechat`."""
