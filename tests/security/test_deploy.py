"""Production deployment: settings with DEBUG off, static files, and the Docker files.

Each settings test runs Django in a subprocess with a production environment (DEBUG=0, fresh
secrets), because settings are read once per process. Note that crm/settings.py also reads the
checkout's `.env` (written by `make dev`/`make test`) without overriding real variables, so a
variable left *out* of the environment would be filled from there: a "missing" secret is given
as an empty value, which is what an unfilled `SECRET_KEY=` line of .env.example looks like too.

No Docker engine is available where this suite runs, so neither the image nor
docker-compose.yml can be built or started here. Instead the tests read both files, and run
the web service's own gunicorn command and healthcheck natively against the test PostgreSQL
and Redis.
"""

from __future__ import annotations

import ast
import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
APP_SERVICES = ("web", "worker", "beat")
# Only these are taken from the outer environment; everything else is set per test.
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def production_env(**overrides: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSTHROUGH if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="crm.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(45),  # 60 characters
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="crm.example.com",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(overrides)
    return env


def run_python(args: list[str], env: dict[str, str], timeout: float = 120):
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=timeout,
    )


def settings_values(env: dict[str, str], *names: str) -> dict:
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}, "
        "default=str))"
    )
    result = run_python(["-c", script], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def service_urls(django_db_setup, django_db_blocker) -> dict[str, str]:
    """DATABASE_URL (the test database) and REDIS_URL (the test Redis DB) of this test run."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    user, password = quote(db["USER"], safe=""), quote(db["PASSWORD"] or "", safe="")
    return {
        "DATABASE_URL": f"postgres://{user}:{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
    }


# --- settings with DEBUG off ---------------------------------------------------------------------
def test_check_deploy_is_clean_with_production_settings(service_urls):
    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING", "--database", "default"],
        production_env(**service_urls),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNING" not in output and "?: (" not in output, output


@pytest.mark.parametrize("proxy, expected", [("1", ["HTTP_X_FORWARDED_PROTO", "https"]),
                                             (None, None)])
def test_production_defaults_are_secure(proxy, expected):
    env = production_env()
    if proxy is not None:
        env["USE_X_FORWARDED_PROTO"] = proxy
    values = settings_values(
        env, "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE", "REQUIRE_2FA_FOR_ADMINS", "SECURE_PROXY_SSL_HEADER", "STORAGES",
    )
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["REQUIRE_2FA_FOR_ADMINS"] is True
    # The forwarded-proto header is trusted only when a proxy in front is declared.
    assert values["SECURE_PROXY_SSL_HEADER"] == expected
    assert values["STORAGES"]["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )


@pytest.mark.parametrize("name, value", [
    ("SECRET_KEY", ""),
    ("FIELD_ENCRYPTION_KEYS", ""),
    ("FIELD_ENCRYPTION_KEYS", " , "),
])
def test_it_refuses_to_start_without_a_required_secret(name, value):
    env = production_env(**{name: value})
    result = run_python(["manage.py", "check"], env)
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name} must be set when DEBUG is off." in result.stderr


def test_a_secret_can_come_from_a_file(tmp_path):
    key = secrets.token_urlsafe(45)
    (tmp_path / "secret_key").write_text(key + "\n")
    env = production_env(SECRET_KEY="", SECRET_KEY_FILE=str(tmp_path / "secret_key"))
    assert settings_values(env, "SECRET_KEY")["SECRET_KEY"] == key

    env["SECRET_KEY_FILE"] = str(tmp_path / "missing")
    result = run_python(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY_FILE=" in result.stderr
    assert "cannot be read" in result.stderr


# --- static files with the production storage -----------------------------------------------------
@pytest.fixture(scope="module")
def collected_static(tmp_path_factory):
    """`collectstatic` as the image build runs it, into a temporary STATIC_ROOT."""
    static_root = tmp_path_factory.mktemp("deploy") / "staticfiles"
    result = run_python(["manage.py", "collectstatic", "--noinput"],
                        production_env(STATIC_ROOT=str(static_root)))
    assert result.returncode == 0, result.stdout + result.stderr
    return static_root, result.stdout


def test_collectstatic_with_the_manifest_storage(collected_static):
    static_root, output = collected_static
    assert str(static_root) in output  # STATIC_ROOT came from the environment, not the checkout
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    # Every file a template names exists with a hashed, compressed copy.
    named = set()
    for template in (ROOT / "templates").rglob("*.html"):
        named.update(re.findall(r"{%\s*static\s+['\"]([^'\"]+)['\"]", template.read_text()))
    expected = named | {
        "vendor/bootstrap/css/bootstrap.min.css",
        "vendor/bootstrap/js/bootstrap.bundle.min.js",
        "vendor/bootstrap-icons/bootstrap-icons.min.css",
        "vendor/htmx/htmx.min.js",
    }
    missing = sorted(path for path in expected if path not in manifest)
    assert not missing, f"not collected: {missing}"
    for path in expected:
        assert (static_root / manifest[path]).is_file()
        assert manifest[path] != path  # hashed name
    assert (static_root / (manifest["vendor/bootstrap/css/bootstrap.min.css"] + ".gz")).is_file()
    # The icon font referenced from the icons' CSS was rewritten to its hashed name.
    icons_css = (static_root / manifest["vendor/bootstrap-icons/bootstrap-icons.min.css"])
    fonts = re.findall(r"url\(\"?(fonts/[^\")?#]+)", icons_css.read_text())
    assert fonts and all(
        f"vendor/bootstrap-icons/{font}" in manifest.values() for font in fonts
    )


# --- docker-compose.yml and the Dockerfile --------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def command_of(service: dict) -> str:
    command = service.get("command")
    return " ".join(command) if isinstance(command, list) else str(command or "")


def test_compose_declares_the_production_services(compose):
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    assert re.fullmatch(r"postgres:1[5-9](\.\d+)?(-\w+)?", services["postgres"]["image"])
    assert re.fullmatch(r"redis:7(\.\d+)*(-\w+)?", services["redis"]["image"])
    for name in ("postgres", "redis"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert any(str(volume).split(":")[0] in compose["volumes"]
                   for volume in services[name]["volumes"]), f"{name} keeps no data volume"

    web = command_of(services["web"])
    assert web.startswith("gunicorn ") and "crm.wsgi:application" in web
    assert "0.0.0.0:8000" in web
    assert re.search(r"--workers \$\{WEB_CONCURRENCY", web)  # the number of workers is settable
    assert re.match(r"celery -A crm worker\b", command_of(services["worker"]))
    assert re.match(r"celery -A crm beat\b", command_of(services["beat"]))

    # Migrations run once, before any app process starts.
    migrate = services["migrate"]
    assert command_of(migrate) == "python manage.py migrate --noinput"
    assert migrate["restart"] == "no"
    for name in APP_SERVICES:
        service = services[name]
        assert service.get("build") == "." and service["image"] == migrate["image"]
        depends = service["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert service["env_file"] == ".env"
        env = service["environment"]
        assert env["DEBUG"] == "0"
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert "@redis:6379/" in env["REDIS_URL"]

    # The web service is checked on /healthz; beat's schedule file lives on a volume.
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "localhost" in services["web"]["environment"]["ALLOWED_HOSTS"].split(",")
    schedule = re.search(r"--schedule[= ](\S+)", command_of(services["beat"])).group(1)
    mounts = [str(volume).split(":") for volume in services["beat"]["volumes"]]
    assert any(source in compose["volumes"] and schedule.startswith(target + "/")
               for source, target in mounts)


def strings_in(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from strings_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings_in(value)
    elif isinstance(node, str):
        yield node


def test_compose_holds_no_secret(compose):
    """Passwords come from .env through ${...} interpolation; none is written in the file."""
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key or key == "REDISCLI_AUTH":
                assert str(value).startswith("${"), f"{name}: {key}"
    urls = [text for text in strings_in(compose) if re.match(r"(postgres|redis)://", text)]
    assert urls
    for url in urls:
        password = re.match(r"\w+://[^:@/]*:(.*)@", url)
        assert password and password.group(1).startswith("${"), url
    redis = compose["services"]["redis"]["command"]
    assert redis[redis.index("--requirepass") + 1].startswith("${")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        instruction, _, arguments = current.partition(" ")
        lines.append((instruction.upper(), arguments.strip()))
        current = ""
    return lines


def test_the_dockerfile_builds_a_non_root_image_without_a_cdn():
    instructions = dockerfile_instructions()
    stages = [args for name, args in instructions if name == "FROM"]
    assert any(stage.startswith("python:3.12-slim") for stage in stages)
    assert any(stage.startswith("node:20-slim") for stage in stages)
    runs = " ".join(args for name, args in instructions if name == "RUN")
    copies = " ".join(args for name, args in instructions if name == "COPY")
    assert "package-lock.json" in copies and "npm ci" in runs
    assert "manage.py collectstatic --noinput" in runs
    assert "manage.py compilemessages" in runs and "gettext" in runs

    final_stage = instructions[max(i for i, (name, _) in enumerate(instructions)
                                   if name == "FROM"):]
    users = [args for name, args in final_stage if name == "USER"]
    assert users, "the runtime stage must switch to an unprivileged user"
    assert users[-1].split(":")[0] not in {"root", "0"}
    command = json.loads(next(args for name, args in final_stage if name == "CMD"))
    assert command[0] == "gunicorn" and "crm.wsgi:application" in command
    assert "0.0.0.0:8000" in command

    # Front-end files come from the npm registry at build time only: no instruction fetches
    # anything from a URL (comments aside).
    text = " ".join(f"{name} {args}" for name, args in instructions).lower()
    for word in ("cdn", "unpkg", "jsdelivr", "curl ", "wget ", "http://", "https://"):
        assert word not in text, word


def test_the_build_context_leaves_out_local_state_and_secrets():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".env", ".venv", ".data", ".git", "node_modules", "staticfiles"} <= ignored


def test_no_template_loads_css_or_javascript_from_another_site():
    external = re.compile(
        r"<script[^>]+src=[\"'](?:https?:)?//|<link[^>]+href=[\"'](?:https?:)?//[^\"']+\.css"
        r"|@import\s+url\([\"']?(?:https?:)?//", re.IGNORECASE,
    )
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "templates").rglob("*.html")
                 if external.search(path.read_text())]
    assert not offenders


# --- .env.example ---------------------------------------------------------------------------------
ENV_READERS = {"env_str", "env_int", "env_bool", "env_list", "env_secret"}


def variables_read_by(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in ENV_READERS:
            names.add(node.args[0].value)
        elif (isinstance(func, ast.Attribute) and func.attr in {"get", "setdefault"}
              and isinstance(func.value, ast.Attribute) and func.value.attr == "environ"):
            names.add(node.args[0].value)
        elif isinstance(func, ast.Name) and func.id == "getenv":
            names.add(node.args[0].value)
    return names


def example_entries(active_only: bool = False) -> dict[str, str]:
    """KEY=value lines of .env.example: all of them, or only those not commented out."""
    pattern = r"([A-Z][A-Z0-9_]*)=(.*)$" if active_only else r"#?\s?([A-Z][A-Z0-9_]*)=(.*)$"
    entries = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(pattern, line)
        if match:
            entries.setdefault(match.group(1), match.group(2).strip('"'))
    return entries


def test_env_example_lists_every_variable_the_project_reads(compose):
    read = set()
    for path in [ROOT / "crm" / "settings.py", ROOT / "crm" / "settings_test.py",
                 *(ROOT / "accounts" / "management" / "commands").glob("*.py")]:
        read |= variables_read_by(path)
    for script in (ROOT / "scripts").glob("*.sh"):
        text = script.read_text()
        read.update(re.findall(r"\$\{(CRM_[A-Z0-9_]+)", text))
        read.update(re.findall(r"_env_value ([A-Z0-9_]+)", text))
        read.update(re.findall(r"s/\^([A-Z0-9_]+)=//", text))
    read.update(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    assert {"SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DEMO_PASSWORD", "CRM_PG_PORT",
            "LOCAL_DB_PASSWORD", "POSTGRES_PASSWORD"} <= read  # the scan itself works
    missing = sorted(read - set(example_entries()))
    assert not missing, f".env.example does not mention: {missing}"


def test_env_example_holds_no_secret_and_works_once_filled_in(service_urls):
    text = ENV_EXAMPLE.read_text()
    entries = example_entries(active_only=True)
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "POSTGRES_PASSWORD", "REDIS_PASSWORD",
                 "EMAIL_HOST_PASSWORD"):
        assert entries[name] == "", f"{name} must be left empty in .env.example"
    assert entries["DEBUG"] == "0"
    assert "secrets.token_urlsafe" in text and "Fernet.generate_key()" in text

    # As it stands the app refuses to start; with the secrets filled in, it passes --deploy.
    result = run_python(["manage.py", "check"], {**production_env(), **entries})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr
    filled = production_env(**service_urls)
    env = {**filled, **entries, "SECRET_KEY": filled["SECRET_KEY"],
           "FIELD_ENCRYPTION_KEYS": filled["FIELD_ENCRYPTION_KEYS"]}
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the web service's command, run natively ------------------------------------------------------
def interpolate(value: str, values: dict[str, str]) -> str:
    """docker compose's ${NAME}, ${NAME:-default} and ${NAME:?error} (enough for our file)."""

    def replace(match):
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if values.get(name):
            return values[name]
        if op == ":-":
            return rest
        raise AssertionError(f"compose needs {name}")

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", replace, value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(port: int, path: str, headers: dict[str, str]):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def web_service(compose, collected_static, service_urls, tmp_path_factory):
    """gunicorn started with the web service's command and environment from docker-compose.yml,
    on a loopback port, against the test database and Redis."""
    web = compose["services"]["web"]
    tmp_path = tmp_path_factory.mktemp("web")
    port = free_port()
    values = {"ALLOWED_HOSTS": "crm.example.com", "POSTGRES_PASSWORD": "unused",
              "REDIS_PASSWORD": "unused", "WEB_CONCURRENCY": "2"}
    command = [interpolate(part, values) for part in web["command"]]
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    env = production_env()
    env.update({name: interpolate(str(value), values)
                for name, value in web["environment"].items()})
    env.update(service_urls, STATIC_ROOT=str(collected_static[0]), CRM_DATA_DIR=str(tmp_path))
    gunicorn = Path(sys.executable).with_name(command[0])
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(gunicorn), *command[1:]], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield port, web
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_the_web_command_serves_the_app_behind_a_tls_proxy(web_service):
    port, web = web_service
    proxy = {"Host": "crm.example.com", "X-Forwarded-Proto": "https"}

    response, body = http_get(port, "/login/", proxy)
    assert response.status == 200, body[:2000]
    assert response.getheader("Strict-Transport-Security", "").startswith("max-age=31536000")
    assert "default-src 'self'" in response.getheader("Content-Security-Policy", "")
    css = re.search(rb'href="(/static/vendor/bootstrap/css/bootstrap\.min\.[0-9a-f]{12}\.css)"',
                    body)
    assert css, "the page does not link the hashed Bootstrap file"

    response, _ = http_get(port, css.group(1).decode(), proxy)
    assert response.status == 200
    assert "immutable" in response.getheader("Cache-Control", "")

    # Plain HTTP is sent to HTTPS, except the health probe.
    response, _ = http_get(port, "/login/", {"Host": "crm.example.com"})
    assert response.status == 301
    assert response.getheader("Location") == "https://crm.example.com/login/"
    response, _ = http_get(port, "/healthz", {"Host": "crm.example.com"})
    assert response.status in (200, 503)


def test_the_web_healthcheck_passes_when_database_and_redis_answer(web_service):
    port, web = web_service
    test = web["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    script = test[3].replace("localhost:8000", f"localhost:{port}")
    result = run_python(["-c", script], production_env(), timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
