"""The web console's built files (web/dist), served next to the API: hashed assets cached for a year,
index.html never cached, and any other path that is not the API answered with index.html so the
console's history-mode router can take it (a reload on /cases/abc must not be a 404)."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from werkzeug.wrappers import Request, Response

from gateway.problems import problem
from minqing import config as settings

# paths the console never owns: a typo under /api/ must stay a JSON problem, not a page
NOT_CONSOLE = ("api/", "healthz", "readyz", "metrics")
LONG_CACHE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
# the gateway's default policy (default-src 'none', gateway/web.py) fits JSON, not a page: the console loads
# its own scripts, styles, fonts and images and calls its own API, nothing foreign; Element Plus and ECharts
# set style attributes, hence 'unsafe-inline' for styles only
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


def dist_dir() -> Path:
    return Path(str(settings.get("web_dist") or settings.ROOT / "web" / "dist"))


def _file(path: Path, cache: str, head: bool) -> Response:
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if mimetype.startswith("text/") or mimetype in ("application/javascript", "application/json"):
        mimetype += "; charset=utf-8"
    body = b"" if head else path.read_bytes()
    headers = {"Cache-Control": cache, "Content-Security-Policy": CONSOLE_CSP}
    response = Response(body, content_type=mimetype, headers=headers)
    response.headers["Content-Length"] = str(path.stat().st_size)
    return response


def serve(request: Request, path: str, root: Path | None = None) -> Response:
    root = (root or dist_dir()).resolve()
    if request.method not in ("GET", "HEAD") or path.startswith(NOT_CONSOLE):
        return problem(404, f"no such endpoint: {request.method} /{path}")
    head = request.method == "HEAD"
    if path:
        target = (root / path).resolve()
        if target.is_relative_to(root) and target.is_file():
            return _file(target, LONG_CACHE if path.startswith("assets/") else NO_CACHE, head)
        if path.startswith("assets/") or "\x00" in path:
            return problem(404, f"no such file: /{path}")  # a missing hashed asset must not come back as HTML
    index = root / "index.html"
    if not index.is_file():
        return problem(404, f"no such endpoint: {request.method} /{path} (the console is not built: make run)")
    return _file(index, NO_CACHE, head)
