"""Page weight and server time of a 5,000-moderator results page and its self-contained report.

Set-up (not timed) is the results benchmark's (`bench/bench_results.py`): a running always-valid pilot of 5,000
moderators with ~2,000,000 simulated audits over 2 pre-period and 8 pilot weeks, ingested through the write path.
`--reuse` takes the database a previous run left (either script's).

Measured in the same run, through Flask's test client signed in as a viewer, medians of `--repeats`:

* baseline: `GET /api/v1/pilots/{id}/results` (the JSON document alone), results cache off;
* the results page with the cache off (the engine runs) and on (a current cached document), and `report.html`;
* bytes: each response as sent (brotli and gzip, what Flask-Compress and `webui.assets` send browsers that accept
  them) and uncompressed, plus the page's static assets; first visit = HTML + every asset, repeat visit = HTML only
  (the assets' versioned URLs are cached for a year).

    .venv/bin/python bench/bench_pages.py [--moderators 5000] [--repeats 5] [--reuse path/to/bench.sqlite3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_results import build_database
from sqlalchemy import text

from pilots import accounts
from pilots.db import make_engine
from webui import create_app

PASSWORD = "bench-password"


def client_for(url: str, cache: bool):
    app = create_app({"TESTING": True, "DATABASE_URL": url, "RESULTS_CACHE": cache, "WTF_CSRF_ENABLED": False})
    name = f"bench-viewer-{time.monotonic_ns()}"
    with app.app_context():
        from webui.database import sessions

        with sessions()() as session:
            user = accounts.create_user(session, name, "viewer", password=PASSWORD)
            token = accounts.issue_token(session, user)
            session.commit()
    client = app.test_client()
    assert client.post("/login", data={"name": name, "password": PASSWORD}).status_code == 302
    return client, {"Authorization": f"Bearer {token}"}


def timed(client, path: str, headers: dict | None = None) -> float:
    start = time.perf_counter()
    response = client.get(path, headers=headers or {})
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, (path, response.status_code)
    response.close()
    return elapsed


def weights(client, path: str) -> dict[str, int]:
    """Bytes of `path` as sent with brotli, with gzip, and uncompressed."""
    out = {}
    for name, accept in (("br", "br, gzip"), ("gzip", "gzip"), ("raw", "identity")):
        response = client.get(path, headers={"Accept-Encoding": accept})
        out[name] = len(response.get_data())
        response.close()
    return out


def asset_urls(client, path: str) -> list[str]:
    html = client.get(path, headers={"Accept-Encoding": "identity"}).get_data(as_text=True)
    return [url.replace("&amp;", "&") for url in re.findall(r'(?:src|href)="(/(?:static|assets)/[^"]+)"', html)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--moderators", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reuse", type=Path, help="an existing bench database (skips the set-up)")
    args = parser.parse_args()
    if args.reuse:
        url, pilot_id = f"sqlite:///{args.reuse}", 1
    else:
        _, url, pilot_id, _ = build_database(args.moderators, "bench-pages-")
    engine = make_engine(url)
    with engine.connect() as connection:
        units = connection.execute(text("SELECT count(*) FROM assignment WHERE pilot_id = :p"), {"p": pilot_id})
        moderators = units.scalar_one()
    engine.dispose()

    cold, headers = client_for(url, cache=False)
    warm, _ = client_for(url, cache=True)
    page, report, api = (
        f"/pilots/{pilot_id}/results",
        f"/pilots/{pilot_id}/report.html",
        f"/api/v1/pilots/{pilot_id}/results",
    )
    for client in (cold, warm):
        timed(client, page)  # imports, scipy, and (warm) the cache entry
    timed(warm, report)
    samples: dict[str, list[float]] = {"api": [], "cold": [], "warm": [], "report": []}
    for _ in range(args.repeats):  # alternate, so load changes on the shared machine hit every measure alike
        samples["api"].append(timed(cold, api, headers))
        samples["cold"].append(timed(cold, page))
        samples["warm"].append(timed(warm, page))
        samples["report"].append(timed(warm, report))
    median = {key: statistics.median(values) for key, values in samples.items()}

    html = weights(warm, page)
    assets = {url: weights(warm, url) for url in asset_urls(warm, page)}
    report_bytes = weights(warm, report)
    first = {kind: html[kind] + sum(a[kind] for a in assets.values()) for kind in ("br", "gzip", "raw")}

    print()
    print(f"results page of a pilot with {moderators:,} moderators (median of {args.repeats})")
    print(f"{'server time':<58}{'s':>8}{'x API':>8}")
    print(f"{'baseline: GET /api/v1/.../results JSON, cache off':<58}{median['api']:>8.3f}{1:>8.2f}")
    print(f"{'results page, cache off (engine runs)':<58}{median['cold']:>8.3f}{median['cold'] / median['api']:>8.2f}")
    print(f"{'results page, cached document':<58}{median['warm']:>8.3f}{median['warm'] / median['api']:>8.2f}")
    print(f"{'report.html, cached document':<58}{median['report']:>8.3f}{median['report'] / median['api']:>8.2f}")
    print()
    print(f"{'bytes sent':<58}{'br':>11}{'gzip':>11}{'raw':>11}")
    rows = [("results page HTML", html)]
    rows += [("  asset " + url.split("?")[0], sizes) for url, sizes in assets.items()]
    rows += [
        ("first visit (HTML + assets)", first),
        ("repeat visit (HTML; assets cached a year)", html),
        ("report.html (one file, plotly.js inside)", report_bytes),
    ]
    for label, sizes in rows:
        print(f"{label:<58}{sizes['br']:>11,}{sizes['gzip']:>11,}{sizes['raw']:>11,}")


if __name__ == "__main__":
    main()
