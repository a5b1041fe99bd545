"""Swagger UI and ReDoc are served with their assets: no CDN."""

from __future__ import annotations

import re

import httpx


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
