"""Every setting, read from XINMA_* environment variables in this one place.

Embedded mode (the default) runs on safe local defaults: SQLite in the instance folder, the WeChat
sandbox, a secret key made once and kept in the instance folder. Production mode refuses to start
without a secret key, WeChat credentials, a database and a Redis.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path

from wechat.push import check_aes_key

SANDBOX_APPID = "wx00sandbox0000001"
SANDBOX_SECRET = "sandbox-secret-not-for-production"


class SettingsError(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class Settings:
    mode: str
    instance: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    wechat_appid: str
    wechat_secret: str
    wechat_api_base: str
    wechat_timeout: float
    public_url: str
    miniprogram_simulator_url: str | None
    miniprogram_state: str
    session_days: int
    sending_stale_seconds: int
    sweep_interval: float
    sweep_grace_seconds: float
    trusted_proxy_hops: int = 0  # how many reverse proxies in front of the app set X-Forwarded-For
    rate_limits: str = ""  # overrides, e.g. "login_address=20/60,submit_resident=10/600"; "off" disables
    push_token: str = ""  # the message-push Token set in the mini-program console
    push_aes_key: str = ""  # its EncodingAESKey (43 characters): compatible and safe-mode pushes are decrypted
    # Notification delivery (workers/):
    # seconds to wait before each retry of a transient WeChat failure; after the last one the row is failed
    # (a dead letter an admin can re-send)
    delivery_retry_intervals: tuple[float, ...] = (10, 60, 300, 1800, 7200)
    delivery_threads: int = 32  # WeChat sends in flight at once within one batch job of a worker
    digest_hour: int = 8  # the staff daily digest goes out after this hour, China time
    remind_ahead_hours: float = 24  # meeting reminders go out this long before the meeting
    metrics_token: str = ""  # bearer token Prometheus uses for /ops/metrics (empty: admins only)
    # Retention (workers/retention.py): a closed matter's personal data is removed this many days after it closed;
    # the resident's words stay unless keep_text is off.
    retention_days: int = 1095
    retention_keep_text: bool = True

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"

    def environ(self) -> dict[str, str]:
        """These settings as XINMA_* variables, for a child process (the worker started by `xinma up`)."""
        out = {
            "XINMA_MODE": self.mode, "XINMA_INSTANCE": str(self.instance), "XINMA_DATABASE_URL": self.database_url,
            "XINMA_SECRET_KEY": self.secret_key, "XINMA_WECHAT_APPID": self.wechat_appid,
            "XINMA_WECHAT_SECRET": self.wechat_secret, "XINMA_WECHAT_API_BASE": self.wechat_api_base,
            "XINMA_WECHAT_TIMEOUT": str(self.wechat_timeout), "XINMA_PUBLIC_URL": self.public_url,
            "XINMA_MINIPROGRAM_STATE": self.miniprogram_state, "XINMA_SESSION_DAYS": str(self.session_days),
            "XINMA_SENDING_STALE_SECONDS": str(self.sending_stale_seconds),
            "XINMA_SWEEP_INTERVAL": str(self.sweep_interval),
            "XINMA_SWEEP_GRACE_SECONDS": str(self.sweep_grace_seconds),
            "XINMA_TRUSTED_PROXY_HOPS": str(self.trusted_proxy_hops), "XINMA_RATE_LIMITS": self.rate_limits,
            "XINMA_WECHAT_PUSH_TOKEN": self.push_token, "XINMA_WECHAT_PUSH_AES_KEY": self.push_aes_key,
            "XINMA_DELIVERY_RETRY_INTERVALS": ",".join(f"{x:g}" for x in self.delivery_retry_intervals),
            "XINMA_DELIVERY_THREADS": str(self.delivery_threads), "XINMA_DIGEST_HOUR": str(self.digest_hour),
            "XINMA_REMIND_AHEAD_HOURS": f"{self.remind_ahead_hours:g}", "XINMA_METRICS_TOKEN": self.metrics_token,
            "XINMA_RETENTION_DAYS": str(self.retention_days),
            "XINMA_RETENTION_KEEP_TEXT": "1" if self.retention_keep_text else "0",
        }
        if self.redis_url:
            out["XINMA_REDIS_URL"] = self.redis_url
        if self.miniprogram_simulator_url:
            out["XINMA_MINIPROGRAM_SIMULATOR_URL"] = self.miniprogram_simulator_url
        return out


def _embedded_secret(instance: Path) -> str:
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Settings from the environment; raises SettingsError naming what production mode is missing."""
    env = dict(os.environ if env is None else env)
    mode = env.get("XINMA_MODE", "embedded")
    if mode not in ("embedded", "production"):
        raise SettingsError(f"XINMA_MODE must be embedded or production, not {mode!r}")
    instance = Path(env.get("XINMA_INSTANCE", "instance")).resolve()
    production = mode == "production"
    if production:
        missing = [name for name in ("XINMA_SECRET_KEY", "XINMA_WECHAT_APPID", "XINMA_WECHAT_SECRET",
                                     "XINMA_DATABASE_URL", "XINMA_REDIS_URL") if not env.get(name)]
        if missing:
            raise SettingsError("production mode needs " + ", ".join(missing))
        if len(env["XINMA_SECRET_KEY"]) < 32:
            raise SettingsError("XINMA_SECRET_KEY must be at least 32 characters")
    port = env.get("XINMA_PORT", "8000")
    return Settings(
        mode=mode,
        instance=instance,
        database_url=env.get("XINMA_DATABASE_URL") or f"sqlite:///{instance / 'xinma.db'}",
        redis_url=env.get("XINMA_REDIS_URL") or None,
        secret_key=env.get("XINMA_SECRET_KEY") or _embedded_secret(instance),
        wechat_appid=env.get("XINMA_WECHAT_APPID") or SANDBOX_APPID,
        wechat_secret=env.get("XINMA_WECHAT_SECRET") or SANDBOX_SECRET,
        wechat_api_base=env.get("XINMA_WECHAT_API_BASE")
        or ("https://api.weixin.qq.com/" if production else f"http://127.0.0.1:{int(port) + 1}/"),
        wechat_timeout=float(env.get("XINMA_WECHAT_TIMEOUT", "5")),
        public_url=env.get("XINMA_PUBLIC_URL", f"http://127.0.0.1:{port}"),
        miniprogram_simulator_url=env.get("XINMA_MINIPROGRAM_SIMULATOR_URL") or None,
        miniprogram_state=env.get("XINMA_MINIPROGRAM_STATE", "formal"),
        session_days=int(env.get("XINMA_SESSION_DAYS", "30")),
        sending_stale_seconds=int(env.get("XINMA_SENDING_STALE_SECONDS", "120")),
        sweep_interval=float(env.get("XINMA_SWEEP_INTERVAL", "15")),
        sweep_grace_seconds=float(env.get("XINMA_SWEEP_GRACE_SECONDS", "10")),
        trusted_proxy_hops=int(env.get("XINMA_TRUSTED_PROXY_HOPS", "0")),
        rate_limits=env.get("XINMA_RATE_LIMITS", ""),
        push_token=env.get("XINMA_WECHAT_PUSH_TOKEN", "") or ("" if production else "sandbox-push-token"),
        push_aes_key=_aes_key(env.get("XINMA_WECHAT_PUSH_AES_KEY", "")),
        delivery_retry_intervals=_intervals(env.get("XINMA_DELIVERY_RETRY_INTERVALS", "10,60,300,1800,7200")),
        delivery_threads=_positive_int(env, "XINMA_DELIVERY_THREADS", 32),
        digest_hour=_positive_int(env, "XINMA_DIGEST_HOUR", 8, low=0, high=23),
        remind_ahead_hours=_hours(env.get("XINMA_REMIND_AHEAD_HOURS", "24")),
        metrics_token=env.get("XINMA_METRICS_TOKEN", ""),
        retention_days=_positive_int(env, "XINMA_RETENTION_DAYS", 1095, low=30, high=36_500),
        retention_keep_text=_flag(env, "XINMA_RETENTION_KEEP_TEXT", True),
    )


def _aes_key(raw: str) -> str:
    if raw:
        try:
            check_aes_key(raw)
        except ValueError as exc:
            raise SettingsError(f"XINMA_WECHAT_PUSH_AES_KEY: {exc}") from None
    return raw


def _intervals(raw: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in raw.split(",") if x.strip())
    except ValueError:
        raise SettingsError(f"XINMA_DELIVERY_RETRY_INTERVALS must be seconds, comma-separated, not {raw!r}") from None
    if any(v < 0 for v in values):
        raise SettingsError("XINMA_DELIVERY_RETRY_INTERVALS cannot be negative")
    return values


def _hours(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"XINMA_REMIND_AHEAD_HOURS must be a number of hours, not {raw!r}") from None
    if not 0 < value <= 24 * 14:
        raise SettingsError("XINMA_REMIND_AHEAD_HOURS must be between 0 and 336")
    return value


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("1", "0", "true", "false", "yes", "no"):
        raise SettingsError(f"{name} must be 1 or 0, not {raw!r}")
    return raw in ("1", "true", "yes")


def _positive_int(env: dict[str, str], name: str, default: int, low: int = 1, high: int = 10_000) -> int:
    raw = env.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}")
    return value


def template_override(event: str, env: dict[str, str] | None = None) -> str | None:
    """XINMA_TEMPLATE_<EVENT>: the account's own subscribe-message template id for a notification event."""
    return (os.environ if env is None else env).get(f"XINMA_TEMPLATE_{event.upper()}") or None


def template_id(event: str) -> str:
    """The account's subscribe-message template id for a notification event (XINMA_TEMPLATE_<EVENT>)."""
    return template_override(event) or f"xinma-{event.replace('_', '-')}"
