"""The mini-program JSON API residents' phones talk to (and, later, the H5 pages). Imports `models`, `qr`, `wechat`."""
