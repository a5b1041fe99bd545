"""Settings from the environment: defaults, parsing, and errors naming the variable."""

from __future__ import annotations

import pytest

from app.settings import Settings, SettingsError


def test_defaults_and_overrides() -> None:
    assert Settings.from_env({}) == Settings()
    s = Settings.from_env(
        {
            "VMASIM_MAX_PROCESSES": "3",
            "VMASIM_MAX_BODY_BYTES": "0x10000",
            "VMASIM_MAX_BATCH": "1_000",
            "OTHER": "x",
        }
    )
    assert (s.max_processes, s.max_body_bytes, s.max_batch) == (3, 0x10000, 1000)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VMASIM_MAX_PROCESSES": "many"}, r"^VMASIM_MAX_PROCESSES='many' is not an integer$"),
        ({"VMASIM_MAX_PROCESSES": "0"}, r"^VMASIM_MAX_PROCESSES=0 must be an integer in \[1, "),
        ({"VMASIM_MAX_BODY_BYTES": "10"}, r"^VMASIM_MAX_BODY_BYTES=10 must be"),
        ({"VMASIM_WORKER_THREADS": "-1"}, r"^VMASIM_WORKER_THREADS=-1 must be"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_the_backend_is_embedded_unless_ray_is_chosen_with_a_store() -> None:
    from app.settings import Backend

    assert Backend.from_env({}) == Backend()
    chosen = Backend.from_env(
        {"VMASIM_BACKEND": "ray", "VMASIM_CLUSTER_STORE": "/shared", "VMASIM_RAY_ADDRESS": "h:1"}
    )
    assert (chosen.kind, chosen.store, chosen.ray_address, chosen.namespace) == (
        "ray",
        "/shared",
        "h:1",
        "vmasim",
    )
    with pytest.raises(SettingsError, match="VMASIM_BACKEND='k8s'"):
        Backend.from_env({"VMASIM_BACKEND": "k8s"})
    with pytest.raises(SettingsError, match="VMASIM_CLUSTER_STORE"):
        Backend.from_env({"VMASIM_BACKEND": "ray"})
