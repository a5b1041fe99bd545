"""The committed OpenAPI document is current, and documents every operation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from openapi_spec_validator.shortcuts import get_validator_cls
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from app.main import create_app
from app.openapi import COMMITTED, ITEM_SCHEMA_EXTENSION, main, render
from app.settings import Settings


def test_committed_openapi_is_current() -> None:
    committed = COMMITTED.read_text(encoding="utf-8")
    assert committed == render(create_app(Settings())), (
        "openapi/openapi.json is stale: run `python -m app.openapi` (or scripts/export_openapi.py)"
    )


def test_document_does_not_depend_on_settings() -> None:
    small = Settings(max_processes=1, max_batch=1, max_body_bytes=1024, worker_threads=1)
    assert render(create_app(small)) == render(create_app(Settings()))


def test_check_mode_detects_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "openapi.json"
    assert main(["--output", str(target), "--check"]) == 1
    assert capsys.readouterr().err == f"{target} does not exist: run `python -m app.openapi`\n"
    assert main(["--output", str(target)]) == 0
    assert capsys.readouterr().out == f"wrote {target}\n"
    assert main(["--output", str(target), "--check"]) == 0
    assert capsys.readouterr().out == f"{target} is up to date\n"
    lines = target.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace('"', "'")
    target.write_text("".join(lines))
    assert main(["--output", str(target), "--check"]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == (
        f"{target} is stale (it differs from the generated document from line 3): "
        "run `python -m app.openapi`\n"
    )


def test_check_command_says_up_to_date() -> None:
    """The command a developer types, in the repository: exit 0 and says so."""
    result = subprocess.run(
        [sys.executable, "-m", "app.openapi", "--check"],
        cwd=COMMITTED.parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "openapi/openapi.json is up to date\n"), (
        result.stderr
    )


def test_document_is_valid_for_the_openapi_version_it_declares() -> None:
    """openapi-spec-validator picks its validator from the document's ``openapi`` field."""
    doc = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert doc["openapi"] == "3.1.0"
    assert get_validator_cls(doc) is OpenAPIV31SpecValidator
    validate(doc)


def test_validator_refuses_a_32_keyword_in_a_31_document() -> None:
    """The check above can fail: FastAPI's raw ``itemSchema`` (OpenAPI 3.2) is refused."""
    doc = json.loads(COMMITTED.read_text(encoding="utf-8"))
    content = doc["paths"]["/processes/{pid}/maps/stream"]["get"]["responses"]["200"]["content"]
    content["application/jsonl"]["itemSchema"] = content["application/jsonl"].pop(
        ITEM_SCHEMA_EXTENSION
    )
    with pytest.raises(OpenAPIValidationError, match="itemSchema"):
        validate(doc)


def test_streams_keep_their_item_schemas() -> None:
    doc = json.loads(COMMITTED.read_text(encoding="utf-8"))
    ok = "/processes/{pid}/maps/stream", "/processes/{pid}/maps/events"
    jsonl, sse = (doc["paths"][path]["get"]["responses"]["200"]["content"] for path in ok)
    assert jsonl["application/jsonl"][ITEM_SCHEMA_EXTENSION] == {
        "$ref": "#/components/schemas/MapsStreamItem"
    }
    assert jsonl["application/jsonl"]["schema"]["type"] == "string"
    events = sse["text/event-stream"]
    assert set(events[ITEM_SCHEMA_EXTENSION]["properties"]) == {"data", "event", "id", "retry"}
    # OpenAPI 3.1 tools read an event stream's `schema` as one event's schema.
    assert events["schema"]["properties"] == events[ITEM_SCHEMA_EXTENSION]["properties"]


def test_probes_and_metrics_are_documented() -> None:
    paths = json.loads(COMMITTED.read_text(encoding="utf-8"))["paths"]
    for path in ("/healthz", "/metrics"):
        assert set(paths[path]) == {"get", "head"}, path
        assert "content" not in paths[path]["head"]["responses"]["200"], path
    metrics = paths["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == [
        "application/openmetrics-text; version=1.0.0",
        "text/plain; version=0.0.4",
    ]


def _has_example(node: Any, schemas: dict[str, Any], seen: set[str]) -> bool:
    if isinstance(node, dict):
        if "example" in node or node.get("examples"):
            return True
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                return _has_example(schemas[name], schemas, seen)
            return False
        return any(_has_example(v, schemas, seen) for v in node.values())
    if isinstance(node, list):
        return any(_has_example(v, schemas, seen) for v in node)
    return False


def test_every_operation_has_tags_description_and_examples() -> None:
    doc = json.loads(COMMITTED.read_text(encoding="utf-8"))
    schemas = doc["components"]["schemas"]
    tag_names = {t["name"] for t in doc["tags"]}
    operations = [op for item in doc["paths"].values() for op in item.values()]
    assert len(operations) >= 13
    for op in operations:
        where = op["operationId"]
        assert op["tags"] and set(op["tags"]) <= tag_names, where
        assert op.get("description"), where
        assert op.get("summary"), where
        for param in op.get("parameters", []):
            assert param.get("examples"), (where, param["name"])
        if "requestBody" in op:
            assert _has_example(op["requestBody"], schemas, set()), where
        ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
        if "content" in ok:
            assert _has_example(ok, schemas, set()), where
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                assert list(response["content"]) == ["application/problem+json"], where
