"""Static files served compressed and cached: the site's own files, plotly.js and the Swagger UI bundle.

Every asset URL carries a version (`?v=<content hash>`, added by `url_for` itself), so a response to a versioned URL
can be cached for a year (`immutable`): a changed file gets a new URL. Bodies are compressed once per process and
kept in memory, brotli when the browser accepts it, else gzip (plotly.min.js: 4.8 MB as is, 1.3 MB as brotli,
1.5 MB as gzip). Dynamic pages are compressed per response by Flask-Compress (`init_app`); the API and streamed
exports are left as they are.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path

import brotli
import plotly
import swagger_ui
from flask import Flask, Response, abort, request
from flask_compress import Compress
from werkzeug.security import safe_join

ONE_YEAR = 365 * 24 * 3600
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
PACKAGES = {
    "plotly": Path(plotly.__file__).parent / "package_data",
    "swagger-ui": Path(swagger_ui.__file__).parent / "static",  # Swagger UI 5 (OpenAPI 3.1), from swagger-ui-py
}
compress = Compress()


@dataclass(frozen=True)
class Body:
    data: bytes
    digest: str


_bodies: dict[tuple[str, float, str], Body] = {}
_lock = threading.Lock()


def _read(path: Path, encoding: str) -> Body:
    """The file's bytes in `encoding` ("br", "gzip" or "identity"), computed once per file version and process."""
    key = (str(path), path.stat().st_mtime, encoding)
    body = _bodies.get(key)
    if body is not None:
        return body
    with _lock:
        body = _bodies.get(key)
        if body is None:
            raw = path.read_bytes()
            digest = hashlib.sha256(raw).hexdigest()[:16]
            if encoding == "br":
                data = brotli.compress(raw, quality=11 if len(raw) < 300_000 else 5)
            elif encoding == "gzip":
                data = gzip.compress(raw, compresslevel=9 if len(raw) < 300_000 else 6, mtime=0)
            else:
                data = raw
            body = _bodies[key] = Body(data, digest)
    return body


def digest(path: Path) -> str:
    return _read(path, "identity").digest


def _encoding(mimetype: str) -> str:
    if not mimetype.startswith(COMPRESSIBLE):
        return "identity"
    accepted = request.accept_encodings
    if accepted["br"]:
        return "br"
    return "gzip" if accepted["gzip"] else "identity"


def file_response(path: Path) -> Response:
    """`path` compressed as the client accepts, cached for a year when the URL names its current version."""
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if mimetype == "application/javascript":
        mimetype = "text/javascript"
    encoding = _encoding(mimetype)
    body = _read(path, encoding)
    response = Response(body.data, mimetype=mimetype)
    if encoding != "identity":
        response.headers["Content-Encoding"] = encoding
    response.headers["Vary"] = "Accept-Encoding"
    response.set_etag(f"{body.digest}-{encoding}")
    if request.args.get("v") == body.digest:
        response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


def _resolve(directory: Path | str | None, filename: str) -> Path:
    if directory is None:
        abort(404)
    joined = safe_join(str(directory), filename)
    if joined is None or not Path(joined).is_file():
        abort(404)
    return Path(joined)


def _static(filename: str) -> Response:
    from flask import current_app

    return file_response(_resolve(current_app.static_folder, filename))


def _package(package: str, filename: str) -> Response:
    if package not in PACKAGES or filename.endswith(".map"):
        abort(404)
    return file_response(_resolve(PACKAGES[package], filename))


def _plotly() -> Response:
    return file_response(PACKAGES["plotly"] / "plotly.min.js")


def _add_version(endpoint: str, values: dict) -> None:
    """`url_for` adds `v=<content hash>` to every asset URL (that is what makes a year of caching safe)."""
    if "v" in values:
        return
    from flask import current_app

    if endpoint == "static" and "filename" in values:
        path = safe_join(str(current_app.static_folder), values["filename"])
    elif endpoint == "package_asset" and values.get("package") in PACKAGES:
        path = safe_join(str(PACKAGES[values["package"]]), values.get("filename", ""))
    elif endpoint == "plotly_js":
        path = str(PACKAGES["plotly"] / "plotly.min.js")
    else:
        return
    if path and Path(path).is_file():
        values["v"] = digest(Path(path))


def _compress_pages(response: Response) -> Response:
    """Flask-Compress on the site's pages, never on /api/ (its clients, and contract tests, read bodies as sent)."""
    if request.path.startswith("/api/"):
        return response
    return compress.after_request(response)


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_MIMETYPES", ["text/html", "application/json", "text/css", "text/plain"])
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_STREAMS", False)  # exports stream as they are
    app.config.setdefault("COMPRESS_MIN_SIZE", 1024)
    app.config["COMPRESS_REGISTER"] = False  # registered below for pages only: API clients get the API as it was
    compress.init_app(app)
    app.after_request(_compress_pages)
    app.view_functions["static"] = _static
    app.add_url_rule(f"/assets/plotly-{plotly.__version__}.min.js", "plotly_js", _plotly)
    app.add_url_rule("/assets/<package>/<path:filename>", "package_asset", _package)
    app.url_defaults(_add_version)
