"""Swagger UI and ReDoc are served with their assets: no CDN."""

from __future__ import annotations

import json
import re

import httpx

from app.openapi import COMMITTED


def test_docs_pages_use_local_assets_only(http: httpx.Client) -> None:
    for page in ("/docs", "/redoc"):
        r = http.get(page)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", r.text), page
        assets = re.findall(r"(?:src|href)=[\"']?(/docs-assets/[^\"' >]+)", r.text)
        assert assets, page
        for asset in assets:
            a = http.get(asset)
            assert a.status_code == 200 and len(a.content) > 1000, asset
    assert "swagger-ui-bundle.js" in http.get("/docs").text
    assert "redoc.standalone.js" in http.get("/redoc").text
    assert http.get("/docs/oauth2-redirect").status_code == 200
    assert http.get("/openapi.json").json()["info"]["title"] == "vmasim"


def test_openapi_json_is_revalidated_by_its_etag(http: httpx.Client) -> None:
    """The document carries an ETag and ``Cache-Control: no-cache``; a client that has
    it gets 304 with no body (the live page reads it at every load)."""
    r = http.get("/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    etag = r.headers["etag"]
    assert r.headers["cache-control"] == "no-cache" and re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert r.json()["info"]["title"] == "vmasim"
    assert r.json() == json.loads(COMMITTED.read_text(encoding="utf-8"))
    for match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = http.get("/openapi.json", headers={"If-None-Match": match})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    other = http.get("/openapi.json", headers={"If-None-Match": '"other"'})
    assert other.status_code == 200 and other.content == r.content
    head = http.head("/openapi.json")
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
