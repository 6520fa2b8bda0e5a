"""Unit codes (心码): scene tokens, their resolution and the scan landing route. Imports `models`, `wechat`."""
