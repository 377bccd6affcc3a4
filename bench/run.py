"""The benchmark: the app with production settings on the generated data set, measured.

    make bench                       # scale 1.0: a million customers
    BENCH_SCALE=0.05 make bench      # a quicker, smaller run

1. Makes the database `crm_bench` (BENCH_DB) on the project-local PostgreSQL, migrates it and
   loads the data set (bench/generate.py) unless one of the same scale and seed is there.
2. Starts gunicorn with DEBUG off (production settings: manifest static files, no debug
   toolbar, persistent connections), signs in as a rep, a manager and an admin, and measures
   the server-side latency (the `Server-Timing` header of crm/timing.py) of every main page:
   p50/p95/p99 over BENCH_REQUESTS requests after warm-up.
3. Throughput of the customer list under 8 concurrent clients.
4. The batch jobs: import and export of a million rows, and the jobs of modules still to come
   (listed as "not built" until their module lands).
It prints one table with the budget of each line and writes JSON to bench/results/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.client import HTTPConnection
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))
SEED = int(os.environ.get("BENCH_SEED", "42"))
DB_NAME = os.environ.get("BENCH_DB", "crm_bench")
PORT = int(os.environ.get("BENCH_PORT", "8765"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "60"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "5"))
CLIENTS = 8
THROUGHPUT_SECONDS = float(os.environ.get("BENCH_THROUGHPUT_SECONDS", "20"))
WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))
# Measure only the scenarios whose name contains one of these (comma-separated), e.g.
# BENCH_ONLY=kanban,forecast; and only these roles (BENCH_ROLES=admin,rep).
ONLY = [x.strip() for x in os.environ.get("BENCH_ONLY", "").split(",") if x.strip()]
ROLES = [x.strip() for x in os.environ.get("BENCH_ROLES", "").split(",") if x.strip()]

# Budgets (issue 6), in milliseconds of p95 unless said otherwise.
LIST, DEEP, FILTERED, SEARCH, DETAIL = 50, 50, 80, 100, 60
KANBAN, DASHBOARD, REPORT = 150, 300, 1000


@dataclass
class Result:
    name: str
    role: str = ""
    kind: str = "page"
    budget: str = ""
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    value: float | None = None
    unit: str = "ms"
    ok: bool | None = None
    note: str = ""
    samples: list[float] = field(default_factory=list, repr=False)


# --- the database ----------------------------------------------------------------------------
def base_database_url() -> str:
    """The project-local PostgreSQL's URL (DATABASE_URL when set), without the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}"


def prepare_database(base_url: str) -> dict:
    import psycopg

    url = f"{base_url}/{DB_NAME}"
    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              [DB_NAME]).fetchone()
        if exists:
            try:
                with psycopg.connect(url) as bench:
                    row = bench.execute(
                        "SELECT info FROM bench_dataset WHERE scale = %s AND seed = %s",
                        [SCALE, SEED]).fetchone()
                if row:
                    print(f"==> Reusing the data set in {DB_NAME} (scale {SCALE}); migrating.")
                    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT,
                                   env={**os.environ, "DATABASE_URL": url, "DEBUG": "1"},
                                   check=True)
                    return row[0]
            except psycopg.Error:
                pass
            print(f"==> Dropping {DB_NAME} (another scale, or unfinished).")
            conn.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}
    print(f"==> Migrating {DB_NAME}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env,
                   check=True)
    print(f"==> Generating the data set at scale {SCALE} (seed {SEED})")
    info_file = RESULTS / ".dataset.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "bench.generate", "--scale", str(SCALE),
                    "--seed", str(SEED)], cwd=ROOT, check=True,
                   env={**env, "BENCH_DATASET_FILE": str(info_file)})
    info = json.loads(info_file.read_text())
    with psycopg.connect(url) as bench:
        bench.execute("CREATE TABLE IF NOT EXISTS bench_dataset "
                      "(scale float, seed int, generated_at timestamptz, info jsonb)")
        bench.execute("INSERT INTO bench_dataset VALUES (%s, %s, now(), %s)",
                      [SCALE, SEED, json.dumps(info)])
    return info


# --- the web server ---------------------------------------------------------------------------
def server_env(url: str) -> dict:
    static_root = ROOT / ".data" / f"bench-static-{PORT}"
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": url,
        # Plain HTTP on loopback: no HTTPS redirect or secure-only cookies; no 2FA prompt.
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "REQUIRE_2FA_FOR_ADMINS": "0",
        "STATIC_ROOT": str(static_root),
        "LOG_LEVEL": "WARNING",
        "CRM_REDIS_DB": os.environ.get("BENCH_REDIS_DB", "3"),
    }


def start_server(env: dict) -> subprocess.Popen:
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                   cwd=ROOT, env=env, check=True)
    log = open(ROOT / ".data" / "log" / f"bench-gunicorn-{PORT}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "crm.wsgi:application",
         "--bind", f"127.0.0.1:{PORT}", "--workers", str(WORKERS), "--worker-class", "sync",
         "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = HTTPConnection("127.0.0.1", PORT, timeout=5)
            conn.request("GET", "/login/")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"gunicorn did not start; see .data/log/bench-gunicorn-{PORT}.log")


class Client:
    """A signed-in browser-like client: keep-alive connection, cookies, CSRF."""

    def __init__(self):
        self.cookies: dict[str, str] = {}
        self.conn = HTTPConnection("127.0.0.1", PORT, timeout=120)

    def _headers(self, extra=None) -> dict:
        headers = {"Host": "127.0.0.1", "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return headers

    def request(self, method: str, path: str, body: str | None = None, headers=None):
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=self._headers(headers))
                response = self.conn.getresponse()
                data = response.read()
                break
            except (OSError, ConnectionError):
                self.conn.close()
                self.conn = HTTPConnection("127.0.0.1", PORT, timeout=120)
                if attempt:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for key, morsel in cookie.items():
                self.cookies[key] = morsel.value
        timing = re.search(r"app;dur=([\d.]+)", response.headers.get("Server-Timing", ""))
        return response.status, data, float(timing.group(1)) if timing else None, response

    def login(self, email: str, password: str) -> None:
        status, body, _t, _r = self.request("GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status != 200 or not token:
            raise SystemExit("the login page did not load")
        form = urlencode({"csrfmiddlewaretoken": token.group(1).decode(), "username": email,
                          "password": password})
        status, _b, _t, _r = self.request(
            "POST", "/login/", form,
            {"Content-Type": "application/x-www-form-urlencoded",
             "Referer": f"http://127.0.0.1:{PORT}/login/"})
        if status != 302:
            raise SystemExit(f"signing in as {email} failed (HTTP {status})")


def measure(client: Client, name: str, role: str, path: str, budget_ms: float,
            requests: int = REQUESTS) -> Result:
    result = Result(name=name, role=role, budget=f"p95 <= {budget_ms:g} ms")
    # Fragments (the timeline's "Load more") answer htmx requests only.
    headers = {"HX-Request": "true"} if path.endswith("#htmx") else None
    path = path.removesuffix("#htmx")
    for _ in range(WARMUP):
        status, _b, _t, _r = client.request("GET", path, headers=headers)
        if status != 200:
            result.note = f"HTTP {status} for {path}"
            result.ok = False
            return result
    for _ in range(requests):
        _s, _b, server_ms, _r = client.request("GET", path, headers=headers)
        result.samples.append(server_ms)
    quantiles = statistics.quantiles(result.samples, n=100, method="inclusive")
    result.p50 = round(statistics.median(result.samples), 1)
    result.p95 = round(quantiles[94], 1)
    result.p99 = round(quantiles[98], 1)
    result.ok = result.p95 <= budget_ms
    return result


def next_page(client: Client, path: str, pages: int) -> str | None:
    """Follow the list's "next" link `pages` times (as a user clicking through)."""
    current = path
    for _ in range(pages):
        _s, body, _t, _r = client.request("GET", current)
        match = re.search(rb'href="([^"]*[?&]after=[^"]+)"', body)
        if not match:
            return None
        href = match.group(1).decode().replace("&amp;", "&")
        current = current.split("?", 1)[0] + href if href.startswith("?") else href
    return current


def throughput(sessions: list[Client], path: str, seconds: float) -> Result:
    counts = [0] * len(sessions)
    errors = [0] * len(sessions)
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        while time.monotonic() < stop:
            status, _b, _t, _r = sessions[i].request("GET", path)
            if status == 200:
                counts[i] += 1
            else:
                errors[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = sum(counts) / seconds
    return Result(name=f"customer list, {len(sessions)} concurrent clients", role="rep",
                  kind="throughput", budget=">= 100 req/s", value=round(rate, 1), unit="req/s",
                  ok=rate >= 100 and not sum(errors),
                  note=f"{sum(errors)} errors" if sum(errors) else "")


# --- scenarios ----------------------------------------------------------------------------------
def url(name: str, *args, query: dict | None = None) -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        path = reverse(name, args=args)
    except NoReverseMatch:
        return None
    return f"{path}?{urlencode(query)}" if query else path


def page_scenarios(info: dict) -> list[tuple[str, str, str | None, float, str]]:
    """(role, name, path or None when the page is not built, budget, kind)."""
    busiest = info.get("busiest_customer_uuid")
    pages = []
    for role in ("rep", "manager", "admin"):
        pages += [
            (role, "customer list", url("customers:list"), LIST, "list"),
            (role, "customer list, deep page", "deep:customers:list", DEEP, "deep"),
            (role, "customer list, filtered (status + search)",
             url("customers:list", query={"status": "at_risk", "q": "Robotics"}), FILTERED,
             "filtered"),
            (role, "customer list, sorted by name",
             url("customers:list", query={"ordering": "name"}), LIST, "list"),
            (role, "contacts list", url("customers:contact_list"), LIST, "list"),
            (role, "global search, common term",
             url("search:page", query={"q": "Robotics"}), SEARCH, "search"),
            (role, "global search, rare term",
             url("search:page", query={"q": "info12345@"}), SEARCH, "search"),
            (role, "global search, Chinese",
             url("search:page", query={"q": "华信"}), SEARCH, "search"),
            (role, "my tasks", url("customers:tasks"), LIST, "list"),
            (role, "segments", url("customers:segment_list"), LIST, "list"),
            (role, "leads", url("sales:lead_list"), LIST, "list"),
            (role, "leads, deep page", "deep:sales:lead_list", DEEP, "deep"),
            (role, "opportunities", url("sales:opportunity_list"), LIST, "list"),
            (role, "opportunities, deep page", "deep:sales:opportunity_list", DEEP, "deep"),
            (role, "kanban", url("sales:board"), KANBAN, "kanban"),
            (role, "forecast", url("sales:forecast"), DASHBOARD, "dashboard"),
            (role, "orders", url("sales:order_list"), LIST, "list"),
            (role, "orders, deep page", "deep:sales:order_list", DEEP, "deep"),
            (role, "products", url("sales:product_list"), LIST, "list"),
            (role, "tickets, all", url("service:ticket_list", query={"queue": "all"}), LIST,
             "list"),
            (role, "tickets, deep page", "deep:service:ticket_list", DEEP, "deep"),
            (role, "tickets, breaching soon",
             url("service:ticket_list", query={"queue": "breaching"}), FILTERED, "filtered"),
        ]
    if busiest:
        pages.append(("admin", "360 page of the busiest customer",
                      url("customers:detail", busiest), DETAIL, "detail"))
        pages.append(("admin", "timeline of the busiest customer",
                      url("customers:timeline", busiest) + "#htmx", DETAIL, "detail"))
    # Dashboards and reports join here as the reports module lands (issue: reports).
    return pages


def selected(role: str, name: str) -> bool:
    return not ((ONLY and not any(o in name for o in ONLY)) or (ROLES and role not in ROLES))


def warm_up(info: dict, rounds: int = 2) -> None:
    """Every gunicorn worker serves every selected page before anything is measured, so no
    sample pays for a worker's first request (templates compiled, catalogues and plans
    loaded). A sync worker takes whichever connection comes next, and one client in a loop is
    mostly served by the same worker: WORKERS + 3 clients run at once, each going through its
    role's pages `rounds` times."""
    from bench.generate import PASSWORD

    paths: dict[str, list[str]] = {}
    for role, name, path, _budget, _kind in page_scenarios(info):
        if path and not path.startswith("deep:") and selected(role, name):
            paths.setdefault(role, []).append(path)
    roles = sorted(paths)
    if not roles:
        return
    emails = {role: f"bench.{role}@example.com" for role in roles}

    def run(role: str) -> None:
        client = Client()
        client.login(emails[role], PASSWORD)
        for _ in range(rounds):
            for path in paths[role]:
                headers = {"HX-Request": "true"} if path.endswith("#htmx") else None
                client.request("GET", path.removesuffix("#htmx"), headers=headers)

    threads = [threading.Thread(target=run, args=(roles[i % len(roles)],))
               for i in range(WORKERS + 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_pages(clients: dict[str, Client], info: dict) -> list[Result]:
    from django.urls import NoReverseMatch, reverse

    results = []
    for role, name, path, budget, kind in page_scenarios(info):
        if not selected(role, name):
            continue
        if path and path.startswith("deep:"):
            try:
                first = reverse(path[5:])
            except NoReverseMatch:
                path = None
            else:
                path = next_page(clients[role], first, 20)
                if path is None:
                    results.append(Result(name=name, role=role, note="fewer than 20 pages",
                                          budget=f"p95 <= {budget} ms"))
                    continue
        if path is None:
            results.append(Result(name=name, role=role, note="not built yet",
                                  budget=f"p95 <= {budget} ms"))
            continue
        result = measure(clients[role], name, role, path, budget)
        result.kind = kind
        results.append(result)
        print(f"  {role:<8} {name:<44} p50 {result.p50 or 0:7.1f}  p95 {result.p95 or 0:7.1f}"
              f"  {'ok' if result.ok else 'OVER' if result.ok is False else ''} {result.note}",
              flush=True)
    return results


# --- batch jobs ---------------------------------------------------------------------------------
def run_jobs(env: dict) -> list[Result]:
    """Each job runs in its own process against the bench database (bench/jobs.py)."""
    proc = subprocess.run([sys.executable, "-m", "bench.jobs"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    sys.stdout.write(proc.stderr[-4000:] if proc.returncode else "")
    results = [Result(**json.loads(line)) for line in proc.stdout.splitlines()
               if line.startswith("{")]
    if proc.returncode:
        results.append(Result(name="batch jobs", kind="job", ok=False,
                              note=f"bench.jobs exited with {proc.returncode}"))
    return results


# --- report -------------------------------------------------------------------------------------
def print_table(results: list[Result]) -> None:
    print()
    print(f"{'':2}{'what':<50} {'role':<8} {'p50':>8} {'p95':>8} {'p99':>8}  {'budget':<18} ")
    for r in results:
        mark = "ok" if r.ok else ("MISS" if r.ok is False else "--")
        if r.kind in ("job", "throughput"):
            value = f"{r.value:,.1f} {r.unit}" if r.value is not None else ""
            print(f"{mark:<4}{r.name:<48} {r.role:<8} {value:>26}  {r.budget:<18} {r.note}")
        else:
            cells = [f"{v:8.1f}" if v is not None else f"{'':>8}" for v in (r.p50, r.p95, r.p99)]
            print(f"{mark:<4}{r.name:<48} {r.role:<8} {' '.join(cells)}  {r.budget:<18} {r.note}")


def main() -> int:
    base = base_database_url()
    info = prepare_database(base)
    url_ = f"{base}/{DB_NAME}"
    env = server_env(url_)
    with_uuid(info, url_)
    server_settings = postgres_settings(url_)
    print("==> PostgreSQL " + ", ".join(f"{k} {v}" for k, v in server_settings.items()))
    print(f"==> Starting gunicorn ({WORKERS} workers, DEBUG off) on 127.0.0.1:{PORT}")
    server = start_server(env)
    results: list[Result] = []
    try:
        from bench.generate import PASSWORD

        clients = {}
        for role, email in (("rep", "bench.rep@example.com"),
                            ("manager", "bench.manager@example.com"),
                            ("admin", "bench.admin@example.com")):
            clients[role] = Client()
            clients[role].login(email, PASSWORD)
        print(f"==> Warming up all {WORKERS} workers on every page")
        started = time.monotonic()
        warm_up(info)
        print(f"    ({time.monotonic() - started:.0f} s)")
        print(f"==> Pages ({REQUESTS} requests each after {WARMUP} warm-up)")
        results += run_pages(clients, info)
        if not ONLY or "throughput" in ONLY:
            print(f"==> Throughput: {CLIENTS} clients for {THROUGHPUT_SECONDS:g} s")
            sessions = []
            for _ in range(CLIENTS):
                session = Client()
                session.login("bench.rep@example.com", PASSWORD)
                sessions.append(session)
            results.append(throughput(sessions, url("customers:list"), THROUGHPUT_SECONDS))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    if os.environ.get("BENCH_SKIP_JOBS") != "1":
        print("==> Batch jobs")
        results += run_jobs(env)
    print_table(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"bench-{stamp}.json"
    out.write_text(json.dumps({
        "when": stamp, "scale": SCALE, "seed": SEED, "web_workers": WORKERS,
        "cpus": os.cpu_count(), "postgres": server_settings, "dataset": info,
        "results": [{k: v for k, v in asdict(r).items() if k != "samples"} for r in results],
    }, indent=2, default=str))
    print(f"\nWrote {out.relative_to(ROOT)}")
    missed = [r for r in results if r.ok is False]
    print(f"{len(missed)} of {sum(r.ok is not None for r in results)} measured lines "
          f"missed their budget.")
    return 0


POSTGRES_SETTINGS = ("server_version", "shared_buffers", "effective_cache_size", "work_mem",
                     "max_wal_size", "random_page_cost")


def postgres_settings(url_: str) -> dict:
    """The server's sizing, printed and kept with the results: the figures depend on it."""
    import psycopg

    with psycopg.connect(url_) as conn:
        return {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in POSTGRES_SETTINGS}


def with_uuid(info: dict, url_: str) -> None:
    """The busiest customer's public id, for the 360-page scenario."""
    import psycopg

    with psycopg.connect(url_) as conn:
        row = conn.execute("SELECT uuid FROM customers_customer WHERE id = %s",
                           [info.get("busiest_customer_id")]).fetchone()
    if row:
        info["busiest_customer_uuid"] = str(row[0])


if __name__ == "__main__":
    sys.exit(main())
