"""Settings: `KUAICHE_*` for what all services share, `KUAICHE_<SERVICE>_*` for one service.

Nothing is read at import time; `load_settings("registry")` reads the environment when called.
The embedded default (no URLs set) is SQLite files under the data dir and the in-process bus.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.db import Timeouts

SERVICE_PORTS: dict[str, int] = {
    "registry": 8001,
    "factors": 8002,
    "issues": 8003,
    "scoring": 8004,
    "notifications": 8005,
}

DEV_SECRET_FILE = "dev-jwt-secret"
MIN_SECRET_LENGTH = 32
DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024


class CommonEnv(BaseSettings):
    """`KUAICHE_*`: what every service reads unless its own prefix overrides it."""

    model_config = SettingsConfigDict(env_prefix="KUAICHE_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path(".kuaiche")
    # May contain `{service}`: postgresql+asyncpg://u:p@host/kuaiche_{service}
    database_url: str | None = None
    kafka_bootstrap: str | None = None
    kafka_replication_factor: int = 1
    jwt_secret: SecretStr | None = None
    relay_interval: float = 0.5
    consumer_max_attempts: int = 3
    # This replica's stable name among its service's replicas (a pod's or container's name):
    # its consumers rejoin their groups under it after a restart (Kafka static membership).
    instance_id: str | None = None
    # How often a worker pings the bus and measures its outbox (state changes are logged).
    watch_interval: float = 5.0
    # Seconds to wait for PostgreSQL before answering 503 (shared.db.Timeouts): a new
    # connection, a free one in the pool, one statement's answer (0: unbounded).
    db_connect_timeout: float = 3.0
    db_pool_timeout: float = 10.0
    db_statement_timeout: float = 60.0
    regions_file: str | None = None
    # Origins of frontends served from elsewhere that may call the APIs from a browser,
    # comma-separated (https://console.example.gov.cn); empty: none (the console shares the
    # gateway's origin and needs no CORS).
    cors_origins: str = ""
    # The largest request body any route reads (the ledger import takes 20 MiB); larger is 413.
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000


class ServiceEnv(BaseSettings):
    """`KUAICHE_<SERVICE>_*`: per-service overrides (the prefix is set per service)."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str | None = None
    kafka_bootstrap: str | None = None
    port: int | None = None
    host: str | None = None


class ServiceSettings(BaseModel):
    """Resolved settings of one service; tests build these directly."""

    service: str
    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int
    database_url: str
    kafka_bootstrap: str | None = None
    kafka_replication_factor: int = 1
    jwt_secret: SecretStr
    data_dir: Path
    relay_interval: float = 0.5
    consumer_max_attempts: int = 3
    instance_id: str | None = None
    watch_interval: float = 5.0
    db_timeouts: Timeouts = Timeouts()
    regions_file: str | None = None
    cors_origins: list[str] = []
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1024)

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> ServiceSettings:
        if len(self.jwt_secret.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"the JWT secret must have at least {MIN_SECRET_LENGTH} characters")
        if self.environment == "production" and self.database_url.startswith("sqlite"):
            raise ValueError("production needs a PostgreSQL database URL, not SQLite")
        if self.environment == "production" and not self.kafka_bootstrap:
            raise ValueError(
                "production needs Kafka (KUAICHE_KAFKA_BOOTSTRAP): events must outlive the process"
            )
        return self

    @property
    def is_embedded(self) -> bool:
        return self.kafka_bootstrap is None


def dev_jwt_secret(data_dir: Path) -> str:
    """The development signing secret kept in the data dir, made on first use, so that
    `kuaiche token` and `kuaiche up` with the same data dir agree."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / DEV_SECRET_FILE
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def jwt_secret_for(common: CommonEnv) -> str:
    if common.jwt_secret is not None:
        return common.jwt_secret.get_secret_value()
    if common.environment == "production":
        raise ValueError("KUAICHE_JWT_SECRET must be set in production")
    return dev_jwt_secret(common.data_dir.resolve())


def load_settings(service: str, *, data_dir: Path | None = None) -> ServiceSettings:
    common = CommonEnv()
    if data_dir is not None:
        common.data_dir = data_dir
    own = ServiceEnv(_env_prefix=f"KUAICHE_{service.upper()}_")
    data = common.data_dir.resolve()
    url = own.database_url or common.database_url
    if url is None:
        data.mkdir(parents=True, exist_ok=True)
        url = f"sqlite+aiosqlite:///{data / f'{service}.sqlite3'}"
    return ServiceSettings(
        service=service,
        environment=common.environment,
        host=own.host or "127.0.0.1",
        port=own.port or SERVICE_PORTS[service],
        database_url=url.replace("{service}", service),
        kafka_bootstrap=own.kafka_bootstrap or common.kafka_bootstrap,
        kafka_replication_factor=common.kafka_replication_factor,
        jwt_secret=SecretStr(jwt_secret_for(common)),
        data_dir=data,
        relay_interval=common.relay_interval,
        consumer_max_attempts=common.consumer_max_attempts,
        instance_id=common.instance_id,
        watch_interval=common.watch_interval,
        db_timeouts=Timeouts(
            connect=common.db_connect_timeout,
            pool=common.db_pool_timeout,
            statement=common.db_statement_timeout or None,
        ),
        regions_file=common.regions_file,
        cors_origins=parse_origins(common.cors_origins),
        max_body_bytes=common.max_body_bytes,
    )


_ORIGIN = re.compile(r"^https?://[^/\s?#]+$")


def parse_origins(text: str) -> list[str]:
    """`KUAICHE_CORS_ORIGINS`: scheme, host and port only, as a browser sends `Origin`."""
    origins = [o.strip().rstrip("/") for o in text.split(",") if o.strip()]
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise ValueError(
                f"KUAICHE_CORS_ORIGINS: {origin!r} is not an origin like https://host[:port]"
            )
    return origins
