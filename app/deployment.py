"""Deployment settings: access control, admission limits and the state file.

Read from the environment like :mod:`app.settings` (which holds the engine-facing
integer limits); these are the knobs an operator sets when exposing the service.

| variable | default | what |
|---|---|---|
| ``VMASIM_TOKEN`` | unset | bearer token every route but ``/healthz`` and the docs requires |
| ``VMASIM_CORS_ORIGINS`` | unset (CORS closed) | comma-separated allowed origins (``*`` for any) |
| ``VMASIM_MAX_INFLIGHT`` | 64 | requests running at once (received, not waiting); past it 503 |
| ``VMASIM_MAX_PROCESS_INFLIGHT`` | 32 | requests for one process at once, waiting too; then 503 |
| ``VMASIM_HEADER_TIMEOUT`` | 10 | seconds to receive a request's head (:mod:`app.http`) |
| ``VMASIM_BODY_TIMEOUT`` | 30 | seconds to receive a body once the head arrived; then 408 |
| ``VMASIM_MAX_STREAMS`` | 32 | open streamed responses at once; past it 429 + ``Retry-After`` |
| ``VMASIM_RETRY_AFTER`` | 1 | seconds advertised in ``Retry-After`` |
| ``VMASIM_STATE_FILE`` | unset | JSON checkpoint: restored on start, saved periodically/at exit |
| ``VMASIM_STATE_INTERVAL`` | 30 | seconds between periodic saves (0: only on shutdown) |
| ``VMASIM_DURABILITY`` | journal | ``journal`` (kill -9 keeps what was answered), ``checkpoint`` |
| ``VMASIM_JOURNAL_SYNC`` | full | ``full`` (fsync per commit: power loss safe) or ``normal`` |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .journal_store import SYNC_MODES, SyncMode
from .settings import ENV_PREFIX, SettingsError

Durability = Literal["journal", "checkpoint"]
DURABILITY_MODES: tuple[Durability, ...] = ("journal", "checkpoint")
"""``VMASIM_DURABILITY``: a journal plus checkpoints, or checkpoints only
(:mod:`app.persistence`)."""

_INT_RANGES: dict[str, tuple[int, int]] = {
    "max_inflight": (1, 100_000),
    "max_streams": (1, 100_000),
    "retry_after": (1, 3600),
    "max_process_inflight": (1, 100_000),
    "header_timeout": (1, 3600),
    "body_timeout": (1, 3600),
    "state_interval": (0, 7 * 24 * 3600),
}


@dataclass(frozen=True)
class Deployment:
    """Deployment knobs of one service instance. The token never appears in ``repr``."""

    token: str | None = field(default=None, repr=False)
    cors_origins: tuple[str, ...] = ()
    max_inflight: int = 64
    max_streams: int = 32
    retry_after: int = 1
    max_process_inflight: int = 32
    header_timeout: int = 10
    body_timeout: int = 30
    state_file: str | None = None
    state_interval: int = 30
    durability: Durability = "journal"
    journal_sync: SyncMode = "full"

    def __post_init__(self) -> None:
        for name, (lo, hi) in _INT_RANGES.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise SettingsError(
                    f"{ENV_PREFIX}{name.upper()}={value!r} must be an integer in [{lo}, {hi}]"
                )
        if self.token is not None and (not self.token or not self.token.isprintable()):
            # Never echo the token itself, even in this error.
            raise SettingsError(
                f"{ENV_PREFIX}TOKEN must be non-empty printable text "
                f"({len(self.token)} characters given)"
            )
        for name, allowed in (("durability", DURABILITY_MODES), ("journal_sync", SYNC_MODES)):
            if getattr(self, name) not in allowed:
                raise SettingsError(
                    f"{ENV_PREFIX}{name.upper()}={getattr(self, name)!r} must be one of "
                    + ", ".join(allowed)
                )
        for origin in self.cors_origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise SettingsError(
                    f"{ENV_PREFIX}CORS_ORIGINS item {origin!r} must be '*' or an http(s) origin"
                )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Deployment:
        """From ``VMASIM_*`` variables; unset ones keep their defaults. Raises
        :class:`~app.settings.SettingsError` naming the variable and its value."""
        values: dict[str, object] = {}
        for name in _INT_RANGES:
            key = ENV_PREFIX + name.upper()
            raw = environ.get(key)
            if raw is None:
                continue
            try:
                values[name] = int(raw.strip().replace("_", ""), 0)
            except ValueError:
                raise SettingsError(f"{key}={raw!r} is not an integer") from None
        token = environ.get(ENV_PREFIX + "TOKEN")
        if token is not None:
            values["token"] = token.strip()
        origins = environ.get(ENV_PREFIX + "CORS_ORIGINS")
        if origins:
            values["cors_origins"] = tuple(o.strip() for o in origins.split(",") if o.strip())
        state_file = environ.get(ENV_PREFIX + "STATE_FILE")
        if state_file:
            values["state_file"] = state_file
        for name in ("durability", "journal_sync"):
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw:
                values[name] = raw.strip().lower()
        return cls(**values)  # type: ignore[arg-type]
