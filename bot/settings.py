"""Settings: read once from the environment (or a `.env` file), validated, secrets masked.

Every name here is part of the external contract in INTERFACE.md. A bad value stops the start
with a message that names the variable, never a stack trace deep inside the app.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from scheduler.errors import ConfigurationError
from scheduler.reminders import ReminderPolicy

ROOT = Path(__file__).resolve().parent.parent
DEMO_CLINIC = ROOT / "scheduler" / "demo_clinic.toml"


class SettingsError(ConfigurationError):
    """A configuration value is missing or malformed; the message names the variable."""


def _secret() -> str | None:
    return field(default=None, repr=False)


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{ROOT / 'data' / 'scheduler.db'}"
    clinic_config: Path = DEMO_CLINIC
    llm_engine: str = "auto"
    aws_region: str | None = None
    aws_access_key_id: str | None = _secret()
    aws_secret_access_key: str | None = _secret()
    aws_session_token: str | None = _secret()  # temporary credentials (STS, SSO)
    bedrock_model_id: str | None = None
    bedrock_endpoint_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = _secret()
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str | None = None
    public_base_url: str | None = None
    slack_bot_token: str | None = _secret()
    slack_signing_secret: str | None = _secret()
    slack_staff_channel: str | None = None
    slack_api_url: str | None = None
    # Where every appointment change is posted as a FHIR notification (jobs/ehr_webhook.py),
    # signed with the secret (HMAC-SHA256); unset: nothing is queued.
    ehr_webhook_url: str | None = None
    ehr_webhook_secret: str | None = _secret()
    encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    secret_key_file: Path = ROOT / "secret.key"
    reminder_offsets: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=2))
    quiet_hours: tuple[time, time] = (time(21, 0), time(8, 0))
    session_timeout: timedelta = timedelta(minutes=30)
    text_retention: timedelta = timedelta(days=180)
    jobs_in_process: bool = True
    log_dir: Path = ROOT / "logs"
    port: int = 5000
    web_chat: bool = False
    # Proxies in front whose X-Forwarded-For is trusted for the client's address (nginx: 1).
    trusted_proxy_hops: int = 0

    def reminder_policy(self) -> ReminderPolicy:
        """REMINDER_OFFSETS and QUIET_HOURS, as the planner and the sender use them."""
        start, end = self.quiet_hours
        return ReminderPolicy(tuple(self.reminder_offsets), (start, end))

    @property
    def twilio_configured(self) -> bool:
        return bool(
            self.twilio_account_sid
            and self.twilio_auth_token
            and (self.twilio_from_number or self.twilio_messaging_service_sid)
        )

    def bedrock_missing(self) -> list[str]:
        """The variables Bedrock still needs (empty when it can be used)."""
        needed = {
            "AWS_ACCESS_KEY_ID": self.aws_access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.aws_secret_access_key,
            "BEDROCK_MODEL_ID": self.bedrock_model_id,
        }
        return [name for name, value in needed.items() if not value]

    @property
    def uses_bedrock(self) -> bool:
        """LLM_ENGINE=bedrock, or auto with credentials and a model id; never for local."""
        if self.llm_engine == "local":
            return False
        return self.llm_engine == "bedrock" or not self.bedrock_missing()

    @property
    def web_chat_enabled(self) -> bool:
        """The demo web chat is a patient channel: only where SMS goes to the outbox, or asked for."""
        return self.web_chat or not self.twilio_configured

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        if env is None:
            load_dotenv(ROOT / ".env", override=False)
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}  # Settings' keyword arguments, each of its own type

        def get(name: str) -> str | None:
            raw = env.get(name)
            if raw is None:
                return None
            raw = raw.strip()
            return raw or None

        plain = {
            "AWS_REGION": "aws_region",
            "AWS_ACCESS_KEY_ID": "aws_access_key_id",
            "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
            "AWS_SESSION_TOKEN": "aws_session_token",
            "BEDROCK_MODEL_ID": "bedrock_model_id",
            "BEDROCK_ENDPOINT_URL": "bedrock_endpoint_url",
            "TWILIO_ACCOUNT_SID": "twilio_account_sid",
            "TWILIO_AUTH_TOKEN": "twilio_auth_token",
            "TWILIO_FROM_NUMBER": "twilio_from_number",
            "TWILIO_MESSAGING_SERVICE_SID": "twilio_messaging_service_sid",
            "TWILIO_API_BASE_URL": "twilio_api_base_url",
            "PUBLIC_BASE_URL": "public_base_url",
            "SLACK_BOT_TOKEN": "slack_bot_token",
            "SLACK_SIGNING_SECRET": "slack_signing_secret",
            "SLACK_STAFF_CHANNEL": "slack_staff_channel",
            "SLACK_API_URL": "slack_api_url",
            "EHR_WEBHOOK_URL": "ehr_webhook_url",
            "EHR_WEBHOOK_SECRET": "ehr_webhook_secret",
        }
        for name, attr in plain.items():
            if (value := get(name)) is not None:
                values[attr] = value

        if (url := get("DATABASE_URL")) is not None:
            if not url.startswith(("sqlite:", "postgresql")):
                raise SettingsError(
                    "DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL"
                )
            values["database_url"] = url
        if (path := get("CLINIC_CONFIG")) is not None:
            if not Path(path).is_file():
                raise SettingsError(f"CLINIC_CONFIG: no such file: {path}")
            values["clinic_config"] = Path(path)
        if (engine := get("LLM_ENGINE")) is not None:
            if engine.lower() not in ("auto", "bedrock", "local"):
                raise SettingsError("LLM_ENGINE must be one of auto, bedrock, local")
            values["llm_engine"] = engine.lower()
        if (keys := get("ENCRYPTION_KEYS")) is not None:
            values["encryption_keys"] = tuple(k.strip() for k in keys.split(",") if k.strip())
        if (offsets := get("REMINDER_OFFSETS")) is not None:
            values["reminder_offsets"] = _parse_offsets(offsets)
        if (quiet := get("QUIET_HOURS")) is not None:
            values["quiet_hours"] = _parse_quiet_hours(quiet)
        if (minutes := get("SESSION_TIMEOUT_MINUTES")) is not None:
            values["session_timeout"] = timedelta(
                minutes=_positive_int("SESSION_TIMEOUT_MINUTES", minutes)
            )
        if (days := get("TEXT_RETENTION_DAYS")) is not None:
            values["text_retention"] = timedelta(days=_positive_int("TEXT_RETENTION_DAYS", days))
        if (flag := get("JOBS_IN_PROCESS")) is not None:
            values["jobs_in_process"] = _bool("JOBS_IN_PROCESS", flag)
        if (flag := get("WEB_CHAT")) is not None:
            values["web_chat"] = _bool("WEB_CHAT", flag)
        if (hops := get("TRUSTED_PROXY_HOPS")) is not None:
            if not hops.isdigit() or int(hops) > 10:
                raise SettingsError("TRUSTED_PROXY_HOPS must be a whole number from 0 to 10")
            values["trusted_proxy_hops"] = int(hops)
        if (log_dir := get("LOG_DIR")) is not None:
            values["log_dir"] = Path(log_dir)
        if (port := get("PORT")) is not None:
            number = _positive_int("PORT", port)
            if number > 65535:
                raise SettingsError("PORT must be between 1 and 65535")
            values["port"] = number
        for name in (
            "TWILIO_API_BASE_URL",
            "SLACK_API_URL",
            "BEDROCK_ENDPOINT_URL",
            "PUBLIC_BASE_URL",
            "EHR_WEBHOOK_URL",
        ):
            value = get(name)
            if value is not None and not re.match(r"^https?://", value):
                raise SettingsError(f"{name} must start with http:// or https://")
        if values.get("ehr_webhook_url") and len(values.get("ehr_webhook_secret") or "") < 16:
            raise SettingsError(
                "EHR_WEBHOOK_URL needs EHR_WEBHOOK_SECRET, at least 16 characters: the key "
                "every notification is signed with"
            )
        settings = cls(**values)
        settings.check_engine()
        return settings

    def check_engine(self) -> None:
        """LLM_ENGINE=bedrock without what Bedrock needs stops the start, naming what is missing:
        BEDROCK_MODEL_ID, and the access keys as a pair or not at all. Without keys, boto3 finds
        credentials itself (AWS_PROFILE with SSO, a web identity, an ECS task role, an EC2
        instance profile), temporary ones renewed before they expire (bot/model/client.py)."""
        if self.llm_engine != "bedrock":
            return
        keys = {
            "AWS_ACCESS_KEY_ID": self.aws_access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.aws_secret_access_key,
        }
        given = any(keys.values()) or self.aws_session_token
        missing = [name for name, value in keys.items() if given and not value]
        if not self.bedrock_model_id:
            missing.append("BEDROCK_MODEL_ID")
        if missing:
            raise SettingsError(
                "LLM_ENGINE=bedrock needs BEDROCK_MODEL_ID, and AWS_ACCESS_KEY_ID with "
                "AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN too for temporary keys) or none of "
                f"them for boto3's own credentials; missing: {', '.join(missing)} "
                "(or set LLM_ENGINE=auto or local)"
            )

    def describe(self) -> dict[str, object]:
        """What the operator may see: every setting, secrets reduced to set/unset."""
        shown: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            shown[f.name] = ("set" if value else "unset") if not f.repr else str(value)
        return shown


def _positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be greater than zero")
    return value


def _bool(name: str, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


_OFFSET = re.compile(r"^(\d+)\s*([mhd])$")


def _parse_offsets(raw: str) -> tuple[timedelta, ...]:
    offsets = []
    for part in raw.split(","):
        match = _OFFSET.match(part.strip().lower())
        if not match or int(match.group(1)) == 0:
            raise SettingsError(f"REMINDER_OFFSETS: {part.strip()!r} is not like 24h, 90m or 2d")
        amount, unit = int(match.group(1)), match.group(2)
        offsets.append(
            {
                "m": timedelta(minutes=amount),
                "h": timedelta(hours=amount),
                "d": timedelta(days=amount),
            }[unit]
        )
    return tuple(sorted(set(offsets), reverse=True))


def _parse_quiet_hours(raw: str) -> tuple[time, time]:
    match = re.match(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$", raw)
    if not match:
        raise SettingsError(f"QUIET_HOURS must be like 21:00-08:00, got {raw!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        return time(h1, m1), time(h2, m2)
    except ValueError:
        raise SettingsError(f"QUIET_HOURS has an impossible time: {raw!r}") from None
