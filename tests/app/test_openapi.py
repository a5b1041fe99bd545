"""The committed OpenAPI document is current, and documents every operation."""

from __future__ import annotations

import json
from typing import Any

from app.main import create_app
from app.openapi import COMMITTED, main, render
from app.settings import Settings


def test_committed_openapi_is_current() -> None:
    committed = COMMITTED.read_text(encoding="utf-8")
    assert committed == render(create_app(Settings())), (
        "openapi/openapi.json is stale: run `python -m app.openapi` (or scripts/export_openapi.py)"
    )


def test_document_does_not_depend_on_settings() -> None:
    small = Settings(max_processes=1, max_batch=1, max_body_bytes=1024, worker_threads=1)
    assert render(create_app(small)) == render(create_app(Settings()))


def test_check_mode_detects_drift(tmp_path: Any) -> None:
    target = tmp_path / "openapi.json"
    assert main(["--output", str(target), "--check"]) == 1
    assert main(["--output", str(target)]) == 0
    assert main(["--output", str(target), "--check"]) == 0
    target.write_text(target.read_text() + " ")
    assert main(["--output", str(target), "--check"]) == 1


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
