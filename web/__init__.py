"""Request plumbing every page and API shares: the request's session, the JSON envelope and body parsing
(`http`), staff sign-in, CSRF and residents' WeChat sign-in (`auth`), rate limits (`ratelimit`), settings from
the environment (`settings`) and the Chinese message catalogue (`messages`).

May import `models` and `wechat`; the feature packages import it, never each other.
"""
