"""Grid workers' pages and triage decisions, and staff sign-in. Imports `models`, `qr`, `wechat`."""
