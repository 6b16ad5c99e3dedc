#!/usr/bin/env python3
"""Assent benchmark harness (stdlib only); `bench/run` builds the binaries and calls it.

Starts the baseline (bench/baseline) and Assent on fresh databases, seeds them with
`assent seed`, drives both with wrk (scripts in bench/wrk/), alternating baseline and Assent runs
so every figure is also a ratio to a baseline measured moments apart, then writes
bench/results/latest.json and the generated section of docs/BENCHMARKS.md.

    python3 bench/harness.py                  # what bench/run does after building
    BENCH_QUICK=1 python3 bench/harness.py    # development: 100k records, 1 round of 3 s
    python3 bench/harness.py --render FILE    # only regenerate docs/BENCHMARKS.md from a results file

Every process the harness starts is stopped on the way out, also on failure or Ctrl-C; the
SQLite databases live in a fresh temporary directory and the PostgreSQL database is dropped.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import html
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WRK_DIR = BENCH / "wrk"
RESULTS_DIR = BENCH / "results"
DOC = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
# BENCH_BIN_DIR: where the release binaries are (another checkout's target/release, say).
RELEASE = Path(os.environ.get("BENCH_BIN_DIR") or ROOT / "target" / "release").resolve()
ASSENT_BIN = RELEASE / "assent"
BASELINE_BIN = RELEASE / "baseline"

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
PHASES = ("sqlite", "isolation", "flows", "postgres", "ab", "webhooks")  # in the order they run
# BENCH_AB_BEFORE=<dir holding another build's release `assent`>: the `ab` phase (only when named in
# BENCH_ONLY) measures this build against that one over the same data, alternated in the same minutes.
AB_BEFORE = os.environ.get("BENCH_AB_BEFORE", "")
# BENCH_AB_SCENARIOS (comma-separated): what the `ab` phase measures; BENCH_AB_RECORDS: how many
# records it seeds first (default: the run's size).
AB_SCENARIOS = tuple(s.strip() for s in os.environ.get("BENCH_AB_SCENARIOS", "list_user,list_audit,read").split(",") if s.strip())
# BENCH_WEBHOOK_RECORDS: records in the `webhooks` phase's environment (only when named in BENCH_ONLY).
WEBHOOK_RECORDS = int(os.environ.get("BENCH_WEBHOOK_RECORDS", "100000"))
# The `webhooks` phase's paced load for the delivery lag: records per second, for how many seconds.
WEBHOOK_PACE, WEBHOOK_PACE_SECONDS = 100, 10
# BENCH_ONLY=flows (comma-separated phases): run only those; `BENCH_ONLY=flows` takes about 2 minutes.
ONLY = [p.strip() for p in os.environ.get("BENCH_ONLY", "").split(",") if p.strip()]

# Load shape, the same for the baseline and Assent. The machine has 2 cores and wrk shares them
# with the server under test: one wrk thread (a second would only take CPU from the server), and
# 32 connections, enough to keep every server worker and the 16 pooled database connections busy
# (closed loop: latency includes queueing behind those 32 requests).
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "1"))
WRK_CONNECTIONS = int(os.environ.get("BENCH_WRK_CONNECTIONS", "32"))
LIST_TARGET_CONNECTIONS = 8  # the list p99 target is judged at this many connections (also measured at WRK_CONNECTIONS)
LIST_SCENARIOS = ("list_user", "list_audit")
# Auditors' totals count the whole environment per request (hundreds of ms at 1M): a dashboard's
# load, not 32 clients queueing past wrk's timeout.
CONNECTIONS = {"totals": 2}
EXPORT_FORMATS = {"ndjson": "application/x-ndjson", "csv": "text/csv"}
WRK_TIMEOUT = "5s"  # a request slower than this counts as a socket timeout, which fails the scenario

ROUNDS = 1 if QUICK else 3  # Assent runs per scenario; baseline runs are ROUNDS + 1 around them
DURATION = 3 if QUICK else 5  # seconds per run
WARMUP = 1 if QUICK else 2  # seconds, each side, before the first measured run
RECORDS = 100_000 if QUICK else 1_000_000  # records in the environment for the main scenarios
STEPS = [10_000, 100_000] if QUICK else [10_000, 100_000, 1_000_000]  # cost curve; the last is RECORDS
PG_RECORDS = int(os.environ.get("BENCH_PG_RECORDS", str(RECORDS)))
RECORDS_PER_USER = 100  # every seed call spreads its records so each new user gets ~100

TARGETS = {  # shown next to each row, never enforced
    "record": ("ratio", 0.5),
    "read": ("ratio", 0.7),
    "token": ("ratio", 0.5),
    "introspect": ("ratio", 0.4),
    "list_user": ("p99_ms", 10.0),
    "list_audit": ("p99_ms", 10.0),
}
PG_TARGETS = {"record": ("ratio", 0.3), "list_user": ("p99_ms", 10.0), "list_audit": ("p99_ms", 10.0)}
LIST_TARGET_RECORDS = 1_000_000  # the list p99 target applies at this size
RSS_TARGET_MIB = 100.0
COST_GROWTH_TARGET = 1.3  # cost per request from 10k to 1M records
UNSTABLE = 1.2  # per-round ratios further apart than this are flagged in the doc

AUDIT_FILTER = 'application.name eq "seed-app-3" and status eq "DECLINED"'
STARTED = time.monotonic()


class BenchError(Exception):
    """A failure that stops the run."""


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


# ---------------------------------------------------------------- processes


class Processes:
    """Every child the harness starts; `stop_all` ends them (SIGINT, then SIGKILL)."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen] = []

    def start(self, argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
        out = open(log_path, "ab")
        try:
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            out.close()
        self.running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc in self.running:
            self.running.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.running):
            try:
                self.stop(proc)
            except Exception as error:  # keep stopping the others
                print(f"bench: could not stop pid {proc.pid}: {error}", file=sys.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set size (VmHWM) of a live process, in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise BenchError(f"no VmHWM for pid {pid}")


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment without ASSENT_*/OTEL_* settings, plus `extra`: same for both servers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSENT_", "OTEL_", "BASELINE_"))}
    env.update(extra)
    return env


# ---------------------------------------------------------------- HTTP


def http(method: str, url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def create_client(api: str, admin: dict[str, str], app: dict, what: str) -> tuple[str, str]:
    """Creates an application through the management API; answers its id and client secret."""
    status, body = http("POST", f"{api}/applications", admin, json.dumps(app).encode())
    if status != 201:
        raise BenchError(f"{what}: creating the application answered {status}: {body[:500]!r}")
    client_id = json.loads(body)["id"]
    status, body = http("GET", f"{api}/applications/{client_id}/secret", admin)
    if status != 200:
        raise BenchError(f"{what}: reading the application's secret answered {status}: {body[:500]!r}")
    return client_id, json.loads(body)["secret"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003 - the flow reads each Location itself
        return None


def browser(method: str, url: str, cookie: str, body: bytes | None = None) -> tuple[int, Message, bytes]:
    """One request of the hosted flow: the session cookie in, redirects not followed, headers out."""
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return browser_headers(method, url, headers, body)


def session_cookie(headers: Message) -> str:
    match = re.search(r"(assent_session=[^;]+)", headers.get("Set-Cookie") or "")
    return match.group(1) if match else ""


def wait_ready(proc: subprocess.Popen, url: str, log_path: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"server exited with {proc.returncode} before answering; log {log_path}:\n{tail(log_path)}")
        try:
            status, _ = http("GET", url)
            if status == 200:
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.1)
    raise BenchError(f"server not ready at {url} after {seconds}s; log {log_path}:\n{tail(log_path)}")


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------- wrk

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
PERCENTILE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([0-9.]+)(us|ms|s|m|h)\s*$", re.M)
RPS = re.compile(r"^Requests/sec:\s+([0-9.]+)\s*$", re.M)
TOTAL = re.compile(r"^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m|h),", re.M)
SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
RESULT = re.compile(r"^BENCH_RESULT (\{.*\})\s*$", re.M)


def parse_wrk(stdout: str) -> dict:
    """wrk's summary (with --latency) plus the BENCH_RESULT line of bench/wrk/common.lua."""
    rps = RPS.search(stdout)
    total = TOTAL.search(stdout)
    percentiles = {int(p): float(v) * UNIT_MS[u] for p, v, u in PERCENTILE.findall(stdout)}
    if not rps or not total or 50 not in percentiles or 99 not in percentiles:
        raise BenchError(f"cannot parse wrk output:\n{stdout}")
    socket_errors = [int(n) for n in SOCKET.search(stdout).groups()] if SOCKET.search(stdout) else [0, 0, 0, 0]
    non2xx = NON2XX.search(stdout)
    lua = RESULT.search(stdout)
    if not lua:
        raise BenchError(f"wrk output has no BENCH_RESULT line (bench/wrk/common.lua not loaded?):\n{stdout}")
    checked = json.loads(lua.group(1))
    return {
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)),
        "seconds": float(total.group(2)) * UNIT_MS[total.group(3)] / 1000,
        "p50_ms": percentiles[50],
        "p75_ms": percentiles.get(75),
        "p90_ms": percentiles.get(90),
        "p99_ms": percentiles[99],
        "socket_errors": dict(zip(["connect", "read", "write", "timeout"], socket_errors)),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "lua": checked,
    }


def problems(run: dict) -> list[str]:
    """Why a wrk run cannot be trusted; empty when every response was a 2xx."""
    found = []
    if run["requests"] == 0:
        found.append("no request completed")
    if run["non2xx"]:
        found.append(f"{run['non2xx']} non-2xx/3xx responses")
    if run["lua"]["bad"]:
        found.append(f"{run['lua']['bad']} responses outside 2xx, first: {run['lua']['first_bad']!r}")
    errors = {k: v for k, v in run["socket_errors"].items() if v}
    if errors:
        found.append(f"socket errors {errors}")
    if run["lua"]["ok"] + run["lua"]["bad"] != run["requests"]:
        found.append(f"Lua saw {run['lua']['ok'] + run['lua']['bad']} responses, wrk counted {run['requests']}")
    for name in ("p50", "p99"):  # the parsed text against wrk's exact figures: catches a misread unit
        text, exact = run[f"{name}_ms"], run["lua"][f"{name}_us"] / 1000
        if abs(text - exact) > max(0.01, 0.01 * exact):
            found.append(f"parsed {name} {text} ms but wrk's Lua summary says {exact} ms")
    return found


def wrk_argv(script: str, url: str, seconds: int, connections: int = WRK_CONNECTIONS) -> list[str]:
    return [
        "wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "--timeout", WRK_TIMEOUT, "--latency",
        "-s", str(WRK_DIR / script), url,
    ]  # fmt: skip


def wrk(script: str, url: str, seconds: int, env: dict[str, str], connections: int = WRK_CONNECTIONS) -> dict:
    argv = wrk_argv(script, url, seconds, connections)
    wrk_env = dict(os.environ, BENCH_WRK_DIR=str(WRK_DIR), **env)
    done = subprocess.run(argv, env=wrk_env, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise BenchError(f"wrk exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    run = parse_wrk(done.stdout)
    run["problems"] = problems(run)
    return run


# ---------------------------------------------------------------- Assent


class Assent:
    """One database: bootstrap and seed through the CLI, and start/stop servers over it."""

    def __init__(self, procs: Processes, workdir: Path, database_url: str, label: str, binary: Path | None = None) -> None:
        self.binary = binary or ASSENT_BIN
        self.ready_seconds = 60.0  # longer when the first start migrates a full database forward
        self.procs = procs
        self.workdir = workdir
        self.database_url = database_url
        self.label = label
        self.env = server_env({
            "ASSENT_DATABASE_URL": database_url,
            "ASSENT_SECRET_KEY_FILE": str(workdir / "assent.key"),
            # X-Forwarded-For from wrk (on 127.0.0.1) is believed, so 203.0.113.7 is a GeoIP hit.
            "ASSENT_TRUSTED_PROXIES": "127.0.0.1/32",
        })  # fmt: skip
        # The server runs from a copy under a neutral name: on a shared machine a `pkill assent` aimed
        # at someone else's server must not end the one being measured (it happened).
        self.server_bin = workdir.parent / ("bench-sut" if self.binary == ASSENT_BIN else "bench-sut-before")
        if not self.server_bin.exists():
            shutil.copy2(self.binary, self.server_bin)
        self.proc: subprocess.Popen | None = None
        self.base = ""
        self.token = ""
        self.seeded: list[dict] = []
        self.sample: dict = {}
        self.writer_user = ""
        self.flow: dict[str, str] = {}

    def cli(self, *args: str) -> dict:
        done = subprocess.run(
            [str(self.binary), *args], env=self.env, cwd=self.workdir, capture_output=True, text=True, timeout=1800
        )
        if done.returncode != 0:
            raise BenchError(f"assent {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def bootstrap(self) -> None:
        boot = self.cli("bootstrap", "--name", f"bench-{self.label}")
        self.environment = boot["environmentId"]
        self.client_id = boot["clientId"]
        self.client_secret = boot["clientSecret"]

    def seed(self, consents: int) -> dict:
        users = max(1, consents // RECORDS_PER_USER)
        log(f"{self.label}: seeding {consents:,} records over {users:,} new users")
        started = time.monotonic()
        out = self.cli("seed", "--environment", self.environment, "--users", str(users), "--consents", str(consents))
        out["wallSeconds"] = round(time.monotonic() - started, 2)
        log(f"{self.label}: seeded {consents:,} in {out['wallSeconds']} s ({out['seconds']:.1f} s inside seed)")
        self.seeded.append(out)
        if not self.sample:  # the first seed's user has exactly RECORDS_PER_USER records throughout
            self.sample = out
        return out

    def count(self) -> int:
        """Consent records in the database (it holds only the bench environment)."""
        if self.database_url.startswith("sqlite:"):
            path = urllib.parse.urlparse(self.database_url).path
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                return int(db.execute("SELECT count(*) FROM consents").fetchone()[0])
        return int(psql(self.database_url, "SELECT count(*) FROM consents").strip())

    def grow_to(self, records: int) -> None:
        missing = records - self.count()
        if missing > 0:
            self.seed(missing)

    def start(self) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = dict(self.env, ASSENT_LISTEN=f"127.0.0.1:{port}")
        self.log_path = self.workdir / "assent.log"
        self.proc = self.procs.start([str(self.server_bin), "serve"], env, self.log_path)
        wait_ready(self.proc, f"{self.base}/health", self.log_path, self.ready_seconds)
        self.token = self.fetch_token()
        if not self.writer_user:
            self.writer_user = self.create_user("bench-writer")

    def stop(self) -> int:
        """Stops the server; returns its peak RSS (VmHWM) in KiB."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            how = self.proc.returncode
            why = f"killed by signal {-how} from outside the harness" if how < 0 else f"exit {how}"
            raise BenchError(f"Assent died ({why}); log {self.log_path}:\n{tail(self.log_path)}")
        peak = vm_hwm_kib(self.proc.pid)
        self.procs.stop(self.proc)
        self.proc = None
        return peak

    def basic(self) -> str:
        return base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()

    def fetch_token(self) -> str:
        status, body = http(
            "POST",
            f"{self.base}/{self.environment}/as/token",
            {"Authorization": f"Basic {self.basic()}", "Content-Type": "application/x-www-form-urlencoded"},
            b"grant_type=client_credentials",
        )
        if status != 200:
            raise BenchError(f"token request answered {status}: {body[:500]!r}")
        return json.loads(body)["access_token"]

    def create_user(self, username: str) -> str:
        status, body = http(
            "POST",
            f"{self.base}/v1/environments/{self.environment}/users",
            {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            json.dumps({"username": username}).encode(),
        )
        if status != 201:
            raise BenchError(f"creating user {username} answered {status}: {body[:500]!r}")
        return json.loads(body)["id"]

    def flow_token(self) -> dict[str, str]:
        """A user's access token through the hosted authorization-code flow (a TRUSTED app, so no
        consent page), and the client's Basic credentials; cached, since the signing keys persist."""
        if self.flow:
            return self.flow
        api = f"{self.base}/v1/environments/{self.environment}"
        admin = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        password = "bench flow password"
        status, body = http("POST", f"{api}/users", admin, json.dumps({"username": "bench-flow", "password": password}).encode())
        if status != 201:
            raise BenchError(f"creating the flow user answered {status}: {body[:500]!r}")
        redirect = "http://127.0.0.1:9/cb"
        app = {"name": "bench-flow", "type": "WEB_APP", "consentMethod": "TRUSTED", "redirectUris": [redirect], "scopes": ["openid"]}
        client_id, secret = create_client(api, admin, app, "the introspect flow")
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        issuer = f"{self.base}/{self.environment}/as"
        # PKCE (S256), which new applications require.
        verifier = base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": client_id, "redirect_uri": redirect, "scope": "openid", "state": "bench",
            "code_challenge": challenge, "code_challenge_method": "S256",
        })  # fmt: skip
        status, headers, page = browser("GET", f"{issuer}/authorize?{query}", "")
        cookie = session_cookie(headers)
        handle = re.search(r'name="authorization" value="([^"]+)"', page.decode())
        if status != 200 or not handle or not cookie:
            raise BenchError(f"the login page answered {status}: {page[:500]!r}")
        form = urllib.parse.urlencode({"authorization": handle.group(1), "username": "bench-flow", "password": password})
        status, headers, _ = browser("POST", f"{issuer}/login", cookie, form.encode())
        cookie = session_cookie(headers) or cookie
        status, headers, _ = browser("GET", headers.get("Location") or "", cookie)
        code = urllib.parse.parse_qs(urllib.parse.urlparse(headers.get("Location") or "").query).get("code", [""])[0]
        if status != 302 or not code:
            raise BenchError(f"the flow did not end with a code ({status}, {headers.get('Location')!r})")
        form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "code_verifier": verifier})
        status, body = http("POST", f"{issuer}/token", {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"}, form.encode())
        if status != 200:
            raise BenchError(f"exchanging the code answered {status}: {body[:500]!r}")
        self.flow = {"BENCH_BASIC": basic, "BENCH_BODY": "token=" + json.loads(body)["access_token"]}
        return self.flow

    def scenario(self, name: str) -> tuple[str, str, dict[str, str]]:
        """(wrk script, path and query, script environment) of a scenario."""
        env, users = self.environment, f"/v1/environments/{self.environment}/users"
        bearer = {"BENCH_TOKEN": self.token}
        if name == "record":  # a dedicated user, so the sample user keeps exactly its seeded records
            return "record.lua", f"{users}/{self.writer_user}/oauthConsents", bearer
        if name == "read":
            return "get.lua", f"{users}/{self.sample['sampleUserId']}/oauthConsents/{self.sample['sampleConsentId']}", bearer
        if name == "list_user":
            return "get.lua", f"{users}/{self.sample['sampleUserId']}/oauthConsents?limit=100", bearer
        if name == "list_audit":
            query = urllib.parse.urlencode({"limit": 100, "filter": AUDIT_FILTER}, quote_via=urllib.parse.quote)
            return "get.lua", f"/v1/environments/{env}/oauthConsents?{query}", bearer
        if name == "totals":  # every record of the environment, per application and status
            return "get.lua", f"/v1/environments/{env}/oauthConsents/totals", bearer
        if name == "token":
            return "token.lua", f"/{env}/as/token", {"BENCH_BASIC": self.basic()}
        if name == "introspect":
            return "introspect.lua", f"/{env}/as/introspect", self.flow_token()
        raise ValueError(name)


def psql(url: str, sql: str, database: str | None = None) -> str:
    parsed = urllib.parse.urlparse(url)
    argv = ["psql", "-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres"]
    argv += ["-d", database or parsed.path.lstrip("/"), "-v", "ON_ERROR_STOP=1", "-Atc", sql]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise BenchError(f"psql {sql!r} failed: {done.stderr.strip()}")
    return done.stdout


# ---------------------------------------------------------------- measuring


def median(values: list[float]) -> float:
    return statistics.median(values)


def measure(assent: Assent, baseline_base: str, name: str, database: str, alternate: bool = True) -> dict:
    """One scenario on a fresh Assent process: warm-up, then baseline/Assent runs alternated."""
    records = assent.count()
    assent.start()
    try:
        script, path, env = assent.scenario(name)
        a_url, b_url = assent.base + path, baseline_base + path
        connections = CONNECTIONS.get(name, WRK_CONNECTIONS)
        runs: list[tuple[str, dict]] = []
        order = (["baseline"] if alternate else []) + (["assent", "baseline"] if alternate else ["assent"]) * ROUNDS
        failures = []
        for side in (["baseline"] if alternate else []) + ["assent"]:
            warm = wrk(script, a_url if side == "assent" else b_url, WARMUP, env, connections)
            failures += [f"{side} warm-up: {p}" for p in warm["problems"]]
        for side in order:
            run = wrk(script, a_url if side == "assent" else b_url, DURATION, env, connections)
            runs.append((side, run))
            failures += [f"{side} run {len(runs)}: {p}" for p in run["problems"]]
        # Lists are also judged at 8 connections (the p99 target), where queueing behind 31 others is gone.
        light = wrk(script, a_url, DURATION, env, connections=LIST_TARGET_CONNECTIONS) if name in LIST_SCENARIOS else None
        if light:
            failures += [f"assent at -c{LIST_TARGET_CONNECTIONS}: {p}" for p in light["problems"]]
        peak = assent.stop()
    except BaseException:
        if assent.proc is not None:
            assent.procs.stop(assent.proc)
            assent.proc = None
        raise
    a_runs = [r for side, r in runs if side == "assent"]
    b_runs = [r for side, r in runs if side == "baseline"]
    ratios = [a["rps"] / ((b_runs[i]["rps"] + b_runs[i + 1]["rps"]) / 2) for i, a in enumerate(a_runs)] if alternate else []
    result = {
        "scenario": name,
        "database": database,
        "records": records,
        "recordsAfter": assent.count(),
        "rps": median([r["rps"] for r in a_runs]),
        "p50_ms": median([r["p50_ms"] for r in a_runs]),
        "p99_ms": median([r["p99_ms"] for r in a_runs]),
        "baseline_rps": median([r["rps"] for r in b_runs]) if b_runs else None,
        "ratio": median(ratios) if ratios else None,
        "round_ratios": ratios,
        "peak_rss_kib": peak,
        "light": {"connections": LIST_TARGET_CONNECTIONS, "rps": light["rps"], "p50_ms": light["p50_ms"], "p99_ms": light["p99_ms"]} if light else None,
        "failures": failures,
        "status": "FAIL" if failures else "ok",
        "runs": [{"side": side, **{k: v for k, v in r.items() if k != "lua"}} for side, r in runs],
        "path": path,
        "connections": connections,
    }
    show = f"{name} [{database}, {records:,} records]: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms"
    if alternate:
        show += f", baseline {result['baseline_rps']:.0f} req/s, ratio {result['ratio']:.3f} (rounds {', '.join(f'{r:.3f}' for r in ratios)})"
    if light:
        show += f"; at -c{LIST_TARGET_CONNECTIONS}: {light['rps']:.0f} req/s, p99 {light['p99_ms']:.2f} ms"
    log(show + f", peak RSS {peak / 1024:.1f} MiB")
    if failures:
        banner = "=" * 78
        print(f"\n{banner}\nFAIL {name} [{database}]: this measurement is not valid\n  " + "\n  ".join(failures) + f"\n{banner}\n", flush=True)
    return result


def target_of(row: dict) -> dict | None:
    targets = PG_TARGETS if row["database"] == "postgres" else TARGETS
    if row["scenario"] not in targets:
        return None
    kind, bound = targets[row["scenario"]]
    if kind == "ratio":
        value = row["ratio"]
        return {"text": f"ratio ≥ {bound}", "met": value is not None and value >= bound}
    text = f"p99 ≤ {bound:g} ms at -c{LIST_TARGET_CONNECTIONS}, 1M"
    light = row.get("light")
    if row["records"] < LIST_TARGET_RECORDS or not light:
        return {"text": text, "met": None}  # not applicable below 1M records
    return {"text": f"{text} (p99 {light['p99_ms']:.2f} ms)", "met": light["p99_ms"] <= bound}


def measure_export(assent: Assent, fmt: str, database: str) -> dict:
    """One export of the whole audit list on a fresh Assent process: wall time, size, and the
    server's peak RSS (VmHWM), which must not grow with the export (constant memory)."""
    records = assent.count()
    assent.start()
    try:
        base_rss = vm_hwm_kib(assent.proc.pid) if assent.proc else 0
        url = f"{assent.base}/v1/environments/{assent.environment}/oauthConsents"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {assent.token}", "Accept": EXPORT_FORMATS[fmt]})
        started = time.monotonic()
        lines = size = 0
        with urllib.request.urlopen(request, timeout=600) as response:
            status = response.status
            while chunk := response.read(1 << 20):
                size += len(chunk)
                lines += chunk.count(b"\n")
        seconds = time.monotonic() - started
        peak = assent.stop()
    except BaseException:
        if assent.proc is not None:
            assent.procs.stop(assent.proc)
            assent.proc = None
        raise
    rows = lines - (1 if fmt == "csv" else 0)  # the CSV header line
    failures = [] if status == 200 and rows == records else [f"answered {status} with {rows:,} rows for {records:,} records"]
    result = {
        "format": fmt, "database": database, "records": records, "rows": rows, "bytes": size,
        "seconds": round(seconds, 2), "records_per_s": rows / seconds if seconds else None,
        "start_rss_kib": base_rss, "peak_rss_kib": peak, "failures": failures, "status": "FAIL" if failures else "ok",
    }  # fmt: skip
    log(
        f"export {fmt} [{database}, {records:,} records]: {rows:,} rows, {size / 2**20:.0f} MiB in {seconds:.1f} s, "
        f"peak RSS {peak / 1024:.1f} MiB (at start {base_rss / 1024:.1f} MiB)" + (f"; FAIL {failures}" if failures else "")
    )
    return result


def audit(assent: Assent, baseline_base: str, database: str, results: dict) -> None:
    """Auditors' reads at full size: totals per application and status, and whole exports."""
    results["scenarios"].append(measure(assent, baseline_base, "totals", database))
    for fmt in EXPORT_FORMATS:
        results.setdefault("exports", []).append(measure_export(assent, fmt, database))


# ---------------------------------------------------------------- phases


def sqlite_phase(procs: Processes, baseline_base: str, workdir: Path, results: dict) -> None:
    db = workdir / "sqlite"
    db.mkdir()
    assent = Assent(procs, db, f"sqlite://{db / 'assent.db'}?mode=rwc", "sqlite")
    assent.bootstrap()
    for step in STEPS[:-1]:
        assent.grow_to(step)
        for name in ("list_user", "record"):  # list first: the step's records are exactly `step`
            row = measure(assent, baseline_base, name, "sqlite", alternate=False)
            results["cost_curve"].append(row)
    assent.grow_to(RECORDS)
    # Reads first, so they see exactly RECORDS records; `record` then adds its own.
    for name in ("list_user", "list_audit", "read", "record", "token", "introspect"):
        row = measure(assent, baseline_base, name, "sqlite")
        results["scenarios"].append(row)
        if name in ("list_user", "record") and STEPS[-1] == RECORDS:
            results["cost_curve"].append(row)
        if name == "list_audit":  # while the environment holds exactly RECORDS records
            audit(assent, baseline_base, "sqlite", results)
    results["seeding"]["sqlite"] = assent.seeded
    results["metrics_overhead"] = metrics_overhead(assent)


METRICS_OVERHEAD_TARGET = 0.03  # request metrics may cost at most 3 % of the read throughput


def metrics_overhead(assent: Assent) -> dict:
    """What request metrics cost: `read` against two Assent processes on the same database, one with
    ASSENT_METRICS=false, in alternated runs (off, on, off, on, …); overhead = 1 - on/off (medians)."""
    servers = {}
    # One public URL for both, so the token one issues is good on the other (its audience and issuer).
    public_url = f"http://127.0.0.1:{free_port()}"
    try:
        for label, flag in (("off", "false"), ("on", "true")):
            port = free_port()
            env = dict(assent.env, ASSENT_LISTEN=f"127.0.0.1:{port}", ASSENT_METRICS=flag, ASSENT_PUBLIC_URL=public_url)
            log_path = assent.workdir / f"assent-metrics-{label}.log"
            proc = assent.procs.start([str(assent.server_bin), "serve"], env, log_path)
            wait_ready(proc, f"http://127.0.0.1:{port}/health", log_path)
            servers[label] = (proc, f"http://127.0.0.1:{port}")
        assent.base = servers["on"][1]
        assent.token = assent.fetch_token()
        script, path, env = assent.scenario("read")
        for label in ("off", "on"):
            wrk(script, servers[label][1] + path, WARMUP, env)
        rps: dict[str, list[float]] = {"off": [], "on": []}
        failures = []
        for label in ["off", "on"] * ROUNDS + ["off"]:
            run = wrk(script, servers[label][1] + path, DURATION, env)
            rps[label].append(run["rps"])
            failures += [f"{label}: {p}" for p in run["problems"]]
    finally:
        for proc, _ in servers.values():
            assent.procs.stop(proc)
    if failures:
        raise BenchError("metrics overhead runs failed: " + "; ".join(failures[:5]))
    off, on = median(rps["off"]), median(rps["on"])
    overhead = 1 - on / off
    log(f"metrics overhead on read: {on:.0f} req/s with, {off:.0f} without: {overhead * 100:.1f} % (target ≤ {METRICS_OVERHEAD_TARGET * 100:g} %)")
    return {"scenario": "read", "rps_on": on, "rps_off": off, "runs": rps, "overhead": overhead,
            "met": overhead <= METRICS_OVERHEAD_TARGET, "failures": failures}  # fmt: skip


ISOLATION_CONNECTIONS = 4  # B's load: a light, steady tenant
ISOLATION_FLOOD_CONNECTIONS = 16  # per flood: A's consent writes, and A's wrong client secrets
ISOLATION_A_BUDGET = 1000  # requests per second the operator allows the noisy tenant A (ASSENT_ENV_REQUEST_OVERRIDES)
ISOLATION_TARGET = 2.0  # B's p99 under A's flood, as a multiple of B's idle p99


def isolation_phase(procs: Processes, baseline_base: str, workdir: Path, results: dict) -> None:
    """Tenant isolation: B's consent writes measured alone, then while A floods the same server with
    consent writes and with wrong client secrets, and (the control) while the same floods go to the
    baseline process instead, which shows what the machine's shared cores alone cost B."""
    db = workdir / "isolation"
    db.mkdir()
    a = Assent(procs, db, f"sqlite://{db / 'assent.db'}?mode=rwc", "isolation")
    a.bootstrap()
    b_boot = a.cli("bootstrap", "--name", "bench-isolation-b")
    a.env["ASSENT_ENV_REQUEST_OVERRIDES"] = f"{a.environment}={ISOLATION_A_BUDGET}"
    a.start()
    b_env_id = b_boot["environmentId"]
    b_basic = base64.b64encode(f"{b_boot['clientId']}:{b_boot['clientSecret']}".encode()).decode()
    status, body = http(
        "POST", f"{a.base}/{b_env_id}/as/token",
        {"Authorization": f"Basic {b_basic}", "Content-Type": "application/x-www-form-urlencoded"},
        b"grant_type=client_credentials",
    )  # fmt: skip
    if status != 200:
        raise BenchError(f"B's token request answered {status}: {body[:300]!r}")
    b_token = json.loads(body)["access_token"]
    status, body = http(
        "POST", f"{a.base}/v1/environments/{b_env_id}/users",
        {"Authorization": f"Bearer {b_token}", "Content-Type": "application/json"},
        json.dumps({"username": "bench-b-writer"}).encode(),
    )  # fmt: skip
    if status != 201:
        raise BenchError(f"creating B's user answered {status}: {body[:300]!r}")
    b_url = f"{a.base}/v1/environments/{b_env_id}/users/{json.loads(body)['id']}/oauthConsents"
    a_url = f"{a.base}/v1/environments/{a.environment}/users/{a.writer_user}/oauthConsents"
    b_env = {"BENCH_TOKEN": b_token}
    wrk("record.lua", b_url, WARMUP, b_env, ISOLATION_CONNECTIONS)
    idle = wrk("record.lua", b_url, DURATION, b_env, ISOLATION_CONNECTIONS)
    wrong = base64.b64encode(f"{a.client_id}:not-the-secret".encode()).decode()

    def under_flood(server: str) -> tuple[dict, list[dict]]:
        floods = []
        for script, path, env in (
            ("record.lua", a_url.removeprefix(a.base), {"BENCH_TOKEN": a.token}),
            ("token.lua", f"/{a.environment}/as/token", {"BENCH_BASIC": wrong}),
        ):
            argv = wrk_argv(script, f"{server}{path}", DURATION + 2, ISOLATION_FLOOD_CONNECTIONS)
            flood_env = dict(os.environ, BENCH_WRK_DIR=str(WRK_DIR), **env)
            floods.append(subprocess.Popen(argv, env=flood_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        time.sleep(1)
        measured = wrk("record.lua", b_url, DURATION, b_env, ISOLATION_CONNECTIONS)
        runs = []
        for flood in floods:
            out, _ = flood.communicate(timeout=DURATION + 60)
            runs.append(parse_wrk(out))
        return measured, runs

    control, control_runs = under_flood(baseline_base)
    flooded, flood_runs = under_flood(a.base)
    peak = a.stop()
    ratio = flooded["p99_ms"] / idle["p99_ms"] if idle.get("p99_ms") else None
    results["isolation"] = {
        "a_budget_rps": ISOLATION_A_BUDGET,
        "b_connections": ISOLATION_CONNECTIONS,
        "flood_connections": ISOLATION_FLOOD_CONNECTIONS,
        "idle": idle,
        "control": control,
        "control_floods": {"records": control_runs[0], "wrong_secrets": control_runs[1]},
        "flooded": flooded,
        "floods": {"a_records": flood_runs[0], "a_wrong_secrets": flood_runs[1]},
        "p99_ratio": ratio,
        "target": ISOLATION_TARGET,
        "peak_rss_kib": peak,
        "status": "FAIL" if idle["problems"] or flooded["problems"] or control["problems"] else "ok",
    }
    if ratio is not None:
        log(f"isolation: B p99 idle {idle['p99_ms']:.2f} ms, under A's flood {flooded['p99_ms']:.2f} ms (x{ratio:.2f})")


# ---------------------------------------------------------------- flows: whole OAuth flows against oidc-provider

PEER_DIR = BENCH / "peer"
FLOW_CONNECTIONS = int(os.environ.get("BENCH_FLOW_CONNECTIONS", "8"))  # = wrk threads: one browser each
FLOW_RATES = {  # flows per second, the same cap for both servers (0: no cap)
    "returning": float(os.environ.get("BENCH_FLOW_RATE_RETURNING", "150")),
    "first": float(os.environ.get("BENCH_FLOW_RATE_FIRST", "20")),
}
# (name, mode, rate): the capped runs are the comparison; `returning_max` (no cap, both servers
# saturating the machine at the same concurrency) shows how CPU per flow moves with load.
FLOW_SCENARIOS = [
    ("returning", "returning", FLOW_RATES["returning"]),
    ("first", "first", FLOW_RATES["first"]),
    ("returning_max", "returning", 0.0),
]
FLOW_ROUNDS = 2 if QUICK else 3  # runs per server, alternated peer, Assent, peer, Assent, ...
FLOW_DURATION = DURATION
# Seconds per server before each scenario's measured runs, without the cap: node's JIT needs a few
# thousand flows (a returning flow cost the peer 2.3 CPU ms cold at 150 flows/s, 1.1 ms warm).
FLOW_WARMUP = 3
FLOW_GOAL = 0.2  # Assent's CPU per returning flow at most this fraction of oidc-provider's
FLOW_REDIRECT = "http://127.0.0.1:9/cb"
FLOW_SCOPE = "openid profile"  # profile needs consent on both servers; openid alone does not on Assent
FLOW_PASSWORD = "bench flow password"
FLOW_PKCE_POOL = 4096
FLOW_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
FLOW_FORWARDED_FOR = "203.0.113.7"  # as the other scenarios: believed by Assent (trusted proxy), ignored by the peer
CLK_TCK = os.sysconf("SC_CLK_TCK")
PEER_LOCK = PEER_DIR / "package-lock.json"
PEER_STAMP = PEER_DIR / "node_modules" / ".bench-installed-lock.json"


def process_cpu_ms(pid: int) -> float:
    """utime + stime of a live process, all its threads, in ms (clock-tick resolution)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / CLK_TCK


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def ensure_peer() -> None:
    """oidc-provider installed from bench/peer/package-lock.json (npm ci), unless already installed
    from this exact lock file: then nothing is fetched, so a run works offline."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise BenchError("node and npm are needed for the flows phase (oidc-provider, bench/peer)")
    lock = PEER_LOCK.read_bytes()
    if PEER_STAMP.exists() and PEER_STAMP.read_bytes() == lock and (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    log("flows: npm ci --prefix bench/peer")
    done = subprocess.run(
        ["npm", "ci", "--prefix", str(PEER_DIR), "--prefer-offline", "--no-audit", "--no-fund"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        raise BenchError(f"npm ci --prefix bench/peer failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    PEER_STAMP.write_bytes(lock)


def pkce_pool(size: int) -> list[str]:
    """S256 pairs "verifier challenge": wrk's Lua has no SHA-256, so the flows draw from these."""
    pairs = []
    for _ in range(size):
        verifier = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        pairs.append(f"{verifier} {challenge}")
    return pairs


class Walker:
    """A browser in Python for the set-up: follows redirects, keeps every cookie, fills the login and
    consent forms as bench/wrk/flow.lua does, and stops at the redirect to the application."""

    INPUT = re.compile(r"<input[^>]*>")
    BUTTON = re.compile(r"<button[^>]*>")

    def __init__(self, base: str, username: str, jar: dict[str, str] | None = None) -> None:
        self.base = base
        self.username = username
        self.jar = dict(jar or {})
        self.pages: list[str] = []

    @staticmethod
    def attr(tag: str, name: str) -> str | None:
        found = re.search(rf'\s{name}="([^"]*)"', tag)
        return html.unescape(found.group(1)) if found else None

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, Message, str]:
        headers = {"User-Agent": FLOW_USER_AGENT, "X-Forwarded-For": FLOW_FORWARDED_FOR}
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, got, page = browser_headers(method, self.base + path, headers, body.encode() if body is not None else None)
        for cookie in got.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value:
                self.jar[name.strip()] = value
            else:
                self.jar.pop(name.strip(), None)
        return status, got, page.decode(errors="replace")

    def form(self, page: str) -> tuple[str, str]:
        form = re.search(r"<form[^>]*>", page)
        action = self.attr(form.group(0), "action") if form else None
        if not action:
            raise BenchError(f"flows: expected a form, got: {page[:300]!r}")
        fields = []
        for tag in self.INPUT.findall(page):
            name = self.attr(tag, "name")
            if not name:
                continue
            kind = self.attr(tag, "type") or "text"
            value = {"password": FLOW_PASSWORD, "text": self.username}.get(kind, self.attr(tag, "value") or "")
            if kind != "checkbox" or re.search(r"\schecked", tag):
                fields.append((name, value))
        for tag in self.BUTTON.findall(page):
            name, value = self.attr(tag, "name"), self.attr(tag, "value")
            if name and value in ("approve", "allow", "accept"):
                fields.append((name, value))
        return re.sub(r"^https?://[^/]+", "", action), urllib.parse.urlencode(fields)

    def authorize(self, path: str, steps: int = 12) -> str:
        """Walks from the authorization request to the application's redirect; returns the code."""
        status, headers, page = self.request("GET", path)
        for _ in range(steps):
            location = headers.get("Location") or ""
            if status in (302, 303) and location.startswith(FLOW_REDIRECT):
                code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query).get("code", [""])[0]
                if not code:
                    raise BenchError(f"flows: the redirect has no code: {location}")
                return code
            if status in (302, 303):
                status, headers, page = self.request("GET", re.sub(r"^https?://[^/]+", "", location))
            elif status == 200:
                self.pages.append(page)
                action, body = self.form(page)
                status, headers, page = self.request("POST", action, body)
            else:
                raise BenchError(f"flows: unexpected answer {status} {location} {page[:300]!r}")
        raise BenchError(f"flows: no code after {steps} steps")


def browser_headers(method: str, url: str, headers: dict[str, str], body: bytes | None) -> tuple[int, Message, bytes]:
    """A request with the given headers, redirects not followed; status, headers and body out."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class FlowSide:
    """One server of the flows phase: how to reach it and what a flow sends it."""

    def __init__(self, name: str, base: str, pid: int, authorize: str, token: str, client_id: str, secret: str) -> None:
        self.name = name
        self.base = base
        self.pid = pid
        self.authorize_path = authorize
        self.token_path = token
        self.client_id = client_id
        self.basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        self.cookies: list[str] = []  # one signed-in, consented browser per wrk thread
        self.users: list[str] = []  # one first-time user per wrk thread

    def query(self, prompt: str = "") -> str:
        verifier = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        params = {
            "response_type": "code", "client_id": self.client_id, "redirect_uri": FLOW_REDIRECT, "scope": FLOW_SCOPE,
            "state": "setup", "code_challenge": challenge, "code_challenge_method": "S256",
        }  # fmt: skip
        if prompt:
            params["prompt"] = prompt
        self.verifier = verifier
        return f"{self.authorize_path}?{urllib.parse.urlencode(params, quote_via=urllib.parse.quote)}"

    def exchange(self, code: str) -> dict:
        form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": FLOW_REDIRECT, "code_verifier": self.verifier})
        status, body = http("POST", self.base + self.token_path, {"Authorization": f"Basic {self.basic}", "Content-Type": "application/x-www-form-urlencoded"}, form.encode())
        if status != 200:
            raise BenchError(f"flows: {self.name} token exchange answered {status}: {body[:300]!r}")
        return json.loads(body)

    def prepare(self, users: list[str], returning_user: str, cookie_names: tuple[str, ...]) -> None:
        """Checks a first-time flow end to end, then signs in one browser per wrk thread (login and
        consent once), and checks that each browser's next flow gets its code with no page."""
        self.users = users
        first = Walker(self.base, users[0])
        self.exchange(first.authorize(self.query("consent")))
        if len(first.pages) != 2:
            raise BenchError(f"flows: {self.name}'s first-time flow showed {len(first.pages)} page(s), not login and consent")
        for _ in range(FLOW_CONNECTIONS):
            walker = Walker(self.base, returning_user)
            self.exchange(walker.authorize(self.query()))
            walker.pages.clear()
            self.exchange(walker.authorize(self.query()))
            if walker.pages:
                raise BenchError(f"flows: a returning browser of {self.name} was shown a page")
            jar = {k: v for k, v in walker.jar.items() if k in cookie_names}
            if not jar:
                raise BenchError(f"flows: no session cookie from {self.name} ({walker.jar})")
            self.cookies.append("; ".join(f"{k}={v}" for k, v in jar.items()))

    def params_file(self, workdir: Path, scenario: str, mode: str, rate: float, pkce: list[str]) -> Path:
        lines = [
            f"mode={mode}",
            f"authorize={self.authorize_path}",
            f"token={self.token_path}",
            f"client_id={self.client_id}",
            f"redirect_uri={FLOW_REDIRECT}",
            f"scope={FLOW_SCOPE}",
            f"prompt={'consent' if mode == 'first' else ''}",
            f"basic={self.basic}",
            f"password={FLOW_PASSWORD}",
            f"user_agent={FLOW_USER_AGENT}",
            f"forwarded_for={FLOW_FORWARDED_FOR}",
            f"rate={rate:g}",
            f"threads={FLOW_CONNECTIONS}",
        ]
        lines += [f"cookie={c}" for c in self.cookies] + [f"user={u}" for u in self.users] + [f"pkce={p}" for p in pkce]
        path = workdir / f"flow-{self.name}-{scenario}.txt"
        path.write_text("\n".join(lines) + "\n")
        return path


FLOWS = re.compile(r"^BENCH_FLOWS (\{.*\})\s*$", re.M)


def wrk_flows(side: FlowSide, params: Path, seconds: int) -> dict:
    """One wrk run of flows against one server, with that server's CPU time and wrk's own."""
    argv = [
        "wrk", f"-t{FLOW_CONNECTIONS}", f"-c{FLOW_CONNECTIONS}", f"-d{seconds}s", "--timeout", WRK_TIMEOUT,
        "-s", str(WRK_DIR / "flow.lua"), side.base,
    ]  # fmt: skip
    env = dict(os.environ, BENCH_FLOW_FILE=str(params))
    cpu_before, machine_before = process_cpu_ms(side.pid), machine_cpu()
    driver_before = os.times()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 60)
    driver_after = os.times()
    cpu_after, machine_after = process_cpu_ms(side.pid), machine_cpu()
    if done.returncode != 0:
        raise BenchError(f"wrk exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    found = FLOWS.search(done.stdout)
    if not found:
        raise BenchError(f"wrk output has no BENCH_FLOWS line:\n{done.stdout}\n{done.stderr}")
    lua = json.loads(found.group(1))
    seconds_run = lua["duration_us"] / 1e6
    flows = lua["ok"]
    cpu_ms = cpu_after - cpu_before
    driver_ms = ((driver_after.children_user + driver_after.children_system) - (driver_before.children_user + driver_before.children_system)) * 1000
    busy = machine_after[0] - machine_before[0]
    total = machine_after[1] - machine_before[1]
    non2xx = NON2XX.search(done.stdout)
    run = {
        "flows": flows,
        "failed": lua["failed"],
        "first_failure": lua["first_failure"],
        "requests": lua["requests"],
        "seconds": seconds_run,
        "flows_per_s": flows / seconds_run if seconds_run else 0.0,
        "server_cpu_ms": cpu_ms,
        "cpu_ms_per_flow": cpu_ms / flows if flows else None,
        "driver_cpu_ms": driver_ms,
        "machine_busy": busy / total if total else None,  # all cores, every process
        "flow_p50_ms": lua["flow_p50_ms"],
        "flow_p99_ms": lua["flow_p99_ms"],
        "socket_errors": {k: lua[f"{k}_errors" if k != "timeout" else "timeouts"] for k in ("connect", "read", "write", "timeout")},
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }
    found_problems = []
    if flows == 0:
        found_problems.append("no flow completed")
    if lua["failed"]:
        found_problems.append(f"{lua['failed']} failed flows, first: {lua['first_failure']!r}")
    if run["non2xx"] or lua["status_errors"]:
        found_problems.append(f"{max(run['non2xx'], lua['status_errors'])} responses with status >= 400")
    errors = {k: v for k, v in run["socket_errors"].items() if v}
    if errors:
        found_problems.append(f"socket errors {errors}")
    run["problems"] = found_problems
    return run


def start_peer(procs: Processes, workdir: Path, client_id: str, secret: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Under a neutral name (a symlink: the process's name is the path it was started by), so that a
    # `pkill node` on a shared machine does not end it; with NODE_ENV=production and no DEBUG.
    node = workdir / "bench-peer"
    if not node.exists():
        node.symlink_to(shutil.which("node"))
    env = {k: v for k, v in server_env({}).items() if k not in ("DEBUG", "NODE_OPTIONS", "NODE_DEBUG")}
    env.update({"NODE_ENV": "production", "PEER_CLIENT_ID": client_id, "PEER_CLIENT_SECRET": secret, "PEER_REDIRECT_URI": FLOW_REDIRECT})
    log_path = workdir / "peer.log"
    proc = procs.start([str(node), str(PEER_DIR / "server.js"), str(port)], env, log_path)
    wait_ready(proc, f"{base}/.well-known/openid-configuration", log_path)
    return proc, base


def flows_phase(procs: Processes, workdir: Path, results: dict) -> None:
    """Whole OAuth flows, Assent against node oidc-provider (bench/peer), judged by each server's
    CPU time per completed flow at the same capped rate."""
    ensure_peer()
    flows_dir = workdir / "flows"
    flows_dir.mkdir()
    # Assent on a fresh SQLite database; sign-ins per address raised, since every first-time flow
    # signs in from the same address (the default, 60 a minute, would refuse them).
    assent = Assent(procs, flows_dir, f"sqlite://{flows_dir / 'assent.db'}?mode=rwc", "flows")
    assent.env["ASSENT_ADDRESS_LOGINS_PER_MIN"] = "1000000"
    assent.bootstrap()
    assent.start()
    assert assent.proc is not None
    api = f"{assent.base}/v1/environments/{assent.environment}"
    admin = {"Authorization": f"Bearer {assent.token}", "Content-Type": "application/json"}
    app = {
        "name": "bench-flows", "type": "WEB_APP", "consentMethod": "REQUIRED", "redirectUris": [FLOW_REDIRECT],
        "scopes": FLOW_SCOPE.split(), "grantTypes": ["AUTHORIZATION_CODE"], "responseTypes": ["CODE"],
        "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC",
    }  # fmt: skip
    client_id, secret = create_client(api, admin, app, "flows")
    first_users = [f"bench-first-{i}" for i in range(FLOW_CONNECTIONS)]  # one per thread: per-name login throttle
    # Each user with a password costs one Argon2id hash, the work a first-time flow's password check
    # repeats: Assent's CPU per user created says what that part of a first-time flow costs.
    cpu_before = process_cpu_ms(assent.proc.pid)
    for username in ["bench-returning", *first_users]:
        status, body = http("POST", f"{api}/users", admin, json.dumps({"username": username, "password": FLOW_PASSWORD}).encode())
        if status != 201:
            raise BenchError(f"flows: creating user {username} answered {status}: {body[:300]!r}")
    user_cpu_ms = (process_cpu_ms(assent.proc.pid) - cpu_before) / (len(first_users) + 1)
    log(f"flows: Assent spent {user_cpu_ms:.1f} CPU ms per user created with a password (one Argon2id hash)")
    env_path = f"/{assent.environment}/as"
    a_side = FlowSide("assent", assent.base, assent.proc.pid, f"{env_path}/authorize", f"{env_path}/token", client_id, secret)
    a_side.prepare(first_users, "bench-returning", ("assent_session",))

    peer_secret = base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
    peer, peer_base = start_peer(procs, flows_dir, "bench-flows", peer_secret)
    p_side = FlowSide("oidc-provider", peer_base, peer.pid, "/auth", "/token", "bench-flows", peer_secret)
    p_side.prepare(first_users, "bench-returning", ("_session",))
    version = subprocess.run(["node", "-e", "console.log(process.version)"], capture_output=True, text=True).stdout.strip()
    peer_version = json.loads((PEER_DIR / "node_modules" / "oidc-provider" / "package.json").read_text())["version"]

    pkce = pkce_pool(FLOW_PKCE_POOL)
    sides = (p_side, a_side)
    rows = []
    for scenario, mode, rate in FLOW_SCENARIOS:
        files = {side.name: side.params_file(flows_dir, scenario, mode, rate, pkce) for side in sides}
        warm_files = {side.name: side.params_file(flows_dir, f"{scenario}-warm-up", mode, 0.0, pkce) for side in sides}
        failures = []
        for side in sides:
            warm = wrk_flows(side, warm_files[side.name], FLOW_WARMUP)
            failures += [f"{side.name} warm-up: {p}" for p in warm["problems"]]
        runs: dict[str, list[dict]] = {side.name: [] for side in sides}
        for _ in range(FLOW_ROUNDS):
            for side in sides:
                run = wrk_flows(side, files[side.name], FLOW_DURATION)
                runs[side.name].append(run)
                failures += [f"{side.name} run {len(runs[side.name])}: {p}" for p in run["problems"]]
                log(
                    f"flows {scenario} {side.name}: {run['flows_per_s']:.1f} flows/s, "
                    f"{'–' if run['cpu_ms_per_flow'] is None else format(run['cpu_ms_per_flow'], '.3f')} CPU ms/flow, "
                    f"{run['requests'] / max(run['flows'], 1):.1f} requests/flow, flow p50 {run['flow_p50_ms']:.1f} ms, "
                    f"machine {100 * (run['machine_busy'] or 0):.0f}% busy"
                    + (f", FAILED: {'; '.join(run['problems'])}" if run["problems"] else "")
                )
        for side in sides:
            side_runs = runs[side.name]
            flows = sum(r["flows"] for r in side_runs)
            seconds = sum(r["seconds"] for r in side_runs)
            cpu = sum(r["server_cpu_ms"] for r in side_runs)
            driver = sum(r["driver_cpu_ms"] for r in side_runs)
            rows.append({
                "scenario": scenario,
                "server": side.name,
                "mode": mode,
                "rate_cap": rate,
                "flows": flows,
                "flows_per_s": flows / seconds if seconds else 0.0,
                "cpu_ms_per_flow": cpu / flows if flows else None,
                "round_cpu_ms_per_flow": [r["cpu_ms_per_flow"] for r in side_runs],
                "requests_per_flow": sum(r["requests"] for r in side_runs) / flows if flows else None,
                "flow_p50_ms": median([r["flow_p50_ms"] for r in side_runs]),
                "flow_p99_ms": median([r["flow_p99_ms"] for r in side_runs]),
                "driver_cpu_ms_per_flow": driver / flows if flows else None,
                "machine_busy": median([r["machine_busy"] or 0 for r in side_runs]),
                "failures": [f for f in failures if f.startswith(side.name)],
                "status": "FAIL" if any(f.startswith(side.name) for f in failures) else "ok",
                "runs": side_runs,
            })  # fmt: skip
        if failures:
            banner = "=" * 78
            print(f"\n{banner}\nFAIL flows {scenario}: this measurement is not valid\n  " + "\n  ".join(failures) + f"\n{banner}\n", flush=True)
    peaks = {"assent": assent.stop(), "oidc-provider": vm_hwm_kib(peer.pid)}
    if peer.poll() is not None:
        raise BenchError(f"oidc-provider died; log {flows_dir / 'peer.log'}:\n{tail(flows_dir / 'peer.log')}")
    procs.stop(peer)
    comparisons = []
    for scenario, mode, _ in FLOW_SCENARIOS:
        a = next(r for r in rows if r["scenario"] == scenario and r["server"] == "assent")
        p = next(r for r in rows if r["scenario"] == scenario and r["server"] == "oidc-provider")
        ratio = a["cpu_ms_per_flow"] / p["cpu_ms_per_flow"] if a["cpu_ms_per_flow"] and p["cpu_ms_per_flow"] else None
        rounds = [
            ar / pr if ar and pr else None for ar, pr in zip(a["round_cpu_ms_per_flow"], p["round_cpu_ms_per_flow"])
        ]
        goal = FLOW_GOAL if mode == "returning" else None
        comparisons.append({
            "scenario": scenario,
            "ratio": ratio,
            "round_ratios": rounds,
            "goal": goal,
            "met": None if goal is None or ratio is None else ratio <= goal,
        })  # fmt: skip
        log(f"flows {scenario}: Assent {a['cpu_ms_per_flow'] or 0:.3f} vs oidc-provider {p['cpu_ms_per_flow'] or 0:.3f} CPU ms/flow, ratio {ratio or 0:.3f}")
    results["flows"] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": results.get("command", ""),
        "commit": results.get("machine", {}).get("commit", ""),
        "quick": QUICK,
        "connections": FLOW_CONNECTIONS,
        "rates": FLOW_RATES,
        "rounds": FLOW_ROUNDS,
        "duration_s": FLOW_DURATION,
        "warmup_s": FLOW_WARMUP,
        "scope": FLOW_SCOPE,
        "goal": FLOW_GOAL,
        "node": version,
        "oidc_provider": peer_version,
        "assent_bin": str(ASSENT_BIN),
        "assent_bin_built": datetime.datetime.fromtimestamp(ASSENT_BIN.stat().st_mtime, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "harness_commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "assent_user_with_password_cpu_ms": user_cpu_ms,
        "loadavg_at_start": results.get("machine", {}).get("loadavg_at_start"),
        "rows": rows,
        "comparisons": comparisons,
        "peak_rss_kib": peaks,
    }  # fmt: skip


def ensure_postgres() -> None:
    if subprocess.run(["pg_isready", "-h", "127.0.0.1"], capture_output=True).returncode == 0:
        return
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions:
        raise BenchError("PostgreSQL is not running on 127.0.0.1 and no cluster is installed under /etc/postgresql")
    log(f"starting PostgreSQL {versions[-1]}")
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], check=True)
    for _ in range(60):
        if subprocess.run(["pg_isready", "-h", "127.0.0.1"], capture_output=True).returncode == 0:
            return
        time.sleep(0.5)
    raise BenchError("PostgreSQL did not become ready on 127.0.0.1")


def ab_phase(procs: Processes, workdir: Path, results: dict) -> None:
    """This build against another (BENCH_AB_BEFORE) on SQLite at full size: the other build seeds,
    this one runs on a copy it migrates forward, both serve the same records under one public URL
    (so one token works on both), and each scenario alternates them: ratio = this ÷ the other."""
    if not AB_BEFORE:
        raise BenchError("the ab phase needs BENCH_AB_BEFORE=<directory of the other build's release binaries>")
    before_bin = Path(AB_BEFORE).resolve() / "assent"
    if not before_bin.exists():
        raise BenchError(f"{before_bin} is missing")
    public = f"http://127.0.0.1:{free_port()}"
    for side in ("before", "after"):
        (workdir / f"ab-{side}").mkdir()
    before = Assent(procs, workdir / "ab-before", f"sqlite://{workdir / 'ab-before' / 'assent.db'}?mode=rwc", "ab-before", before_bin)
    before.bootstrap()
    before.grow_to(int(os.environ.get("BENCH_AB_RECORDS", str(RECORDS))))
    # The record scenario writes to one user; made before the copy, both builds have it.
    before.start()
    before.stop()
    for name in os.listdir(workdir / "ab-before"):
        if name.startswith(("assent.db", "assent.key")):
            shutil.copy2(workdir / "ab-before" / name, workdir / "ab-after" / name)
    after = Assent(procs, workdir / "ab-after", f"sqlite://{workdir / 'ab-after' / 'assent.db'}?mode=rwc", "ab-after")
    for assent in (before, after):
        assent.env["ASSENT_PUBLIC_URL"] = public
    after.environment, after.client_id, after.client_secret = before.environment, before.client_id, before.client_secret
    after.sample, after.seeded = before.sample, before.seeded
    after.writer_user = before.writer_user
    after.ready_seconds = 1200.0
    before.start()
    try:
        for name in AB_SCENARIOS:
            row = measure(after, before.base, name, "sqlite")
            row["scenario"] = f"{name} (A/B)"
            results.setdefault("ab", []).append(row)
            log(f"A/B {name}: this build ÷ the other = {row['ratio']:.3f} (rounds {', '.join(f'{r:.3f}' for r in row['round_ratios'])})")
        before.stop()
    finally:
        if before.proc is not None:
            procs.stop(before.proc)
            before.proc = None
    results["ab_before"] = str(before_bin)


def api(assent: Assent, method: str, path: str, body: dict | None = None, expected: int = 200) -> dict:
    """A JSON call to the running Assent with its worker token."""
    status, answer = http(
        method,
        f"{assent.base}/v1/environments/{assent.environment}{path}",
        {"Authorization": f"Bearer {assent.token}", "Content-Type": "application/json"},
        json.dumps(body).encode() if body is not None else None,
    )
    if status != expected:
        raise BenchError(f"{method} {path} answered {status}: {answer[:500]!r}")
    return json.loads(answer) if answer else {}


def wait_caught_up(assent: Assent, subscription: str, head: int, seconds: float = 600) -> float:
    """Waits until the subscription has delivered through `head`; answers the seconds it took."""
    started = time.monotonic()
    while True:
        state = api(assent, "GET", f"/subscriptions/{subscription}")
        if state["delivery"]["deliveredThrough"] >= head:
            return time.monotonic() - started
        if not state["enabled"] or state["delivery"]["failures"]:
            raise BenchError(f"the subscription fails: {state}")
        if time.monotonic() - started > seconds:
            raise BenchError(f"not caught up after {seconds} s: {state['delivery']} (head {head})")
        time.sleep(0.05)


def event_head(assent: Assent) -> int:
    path = urllib.parse.urlparse(assent.database_url).path
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT sequence FROM consent_event_heads").fetchone()[0])


def delivery_lags_ms(assent: Assent, after: int) -> list[float]:
    """Per delivered event after sequence `after`: from the event's time to the end of its first
    successful attempt (attempted_at + latency), in ms, from the attempt log."""
    path = urllib.parse.urlparse(assent.database_url).path
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT e.occurred_at, MIN(a.attempted_at), a.latency_ms FROM webhook_attempts a "
            "JOIN consent_events e ON e.environment_id = a.environment_id AND e.sequence = a.sequence "
            "WHERE a.delivered AND NOT a.manual AND a.sequence > ? GROUP BY a.sequence",
            (after,),
        ).fetchall()
    parse = lambda text: datetime.datetime.fromisoformat(text.replace(" ", "T"))  # noqa: E731
    return [(parse(done) - parse(at)).total_seconds() * 1000 + latency for at, done, latency in rows]


def webhooks_phase(procs: Processes, baseline_base: str, workdir: Path, results: dict) -> None:
    """What one active webhook subscription costs a record (ratio to the baseline with and without
    it, the same minutes and database), how fast one subscription drains a backlog to a local
    receiver (the baseline server answers any POST), and the lag from an event to its delivery at a
    paced load."""
    db = workdir / "webhooks"
    db.mkdir()
    assent = Assent(procs, db, f"sqlite://{db / 'assent.db'}?mode=rwc", "webhooks")
    assent.env["ASSENT_WEBHOOK_ALLOW_PRIVATE"] = "true"
    assent.bootstrap()
    assent.grow_to(WEBHOOK_RECORDS)
    out: dict = {"records": WEBHOOK_RECORDS}
    without = measure(assent, baseline_base, "record", "sqlite")
    without["scenario"] = "record, no subscription"
    assent.start()
    try:
        made = api(assent, "POST", "/subscriptions", {"url": f"{baseline_base}/hook", "eventTypes": ["consent.recorded"]}, 201)
        assent.stop()
    finally:
        if assent.proc is not None:
            procs.stop(assent.proc)
            assent.proc = None
    subscription = made["id"]
    backlog_from = event_head(assent)
    with_one = measure(assent, baseline_base, "record", "sqlite")
    with_one["scenario"] = "record, one subscription"
    out["rows"] = [without, with_one]
    out["ratio_of_ratios"] = with_one["ratio"] / without["ratio"]
    log(f"webhooks: record ratio with one subscription ÷ without = {out['ratio_of_ratios']:.3f}")

    # The backlog the record runs left: drained by one node, one destination, in order.
    assent.start()
    try:
        head = event_head(assent)
        state = api(assent, "GET", f"/subscriptions/{subscription}")
        waiting = head - state["delivery"]["deliveredThrough"]
        seconds = wait_caught_up(assent, subscription, head)
        out["drain"] = {"events": waiting, "seconds": round(seconds, 2), "events_per_s": waiting / seconds if seconds else None}
        log(f"webhooks: drained {waiting:,} waiting events in {seconds:.1f} s ({waiting / seconds:,.0f} events/s)")
        # Paced records: the lag from each event to its delivery when delivery keeps up.
        paced_from = head
        url = f"{assent.base}/v1/environments/{assent.environment}/users/{assent.writer_user}/oauthConsents"
        body = json.dumps({"application": {"name": "bench-paced"}, "scope": ["openid"], "status": "ACCEPTED"}).encode()
        headers = {"Authorization": f"Bearer {assent.token}", "Content-Type": "application/vnd.pingidentity.consent.accept+json"}
        started = time.monotonic()
        for n in range(WEBHOOK_PACE * WEBHOOK_PACE_SECONDS):
            pause = started + n / WEBHOOK_PACE - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            status, answer = http("POST", url, headers, body)
            if status != 201:
                raise BenchError(f"a paced record answered {status}: {answer[:300]!r}")
        head = event_head(assent)
        wait_caught_up(assent, subscription, head)
        lags = sorted(delivery_lags_ms(assent, paced_from))
        pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]  # noqa: E731
        out["paced"] = {"rate": WEBHOOK_PACE, "seconds": WEBHOOK_PACE_SECONDS, "events": len(lags),
                        "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": lags[-1]}  # fmt: skip
        log(f"webhooks: {len(lags)} paced events at {WEBHOOK_PACE}/s, lag p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, max {lags[-1]:.1f} ms")
        status, metrics = http("GET", f"{assent.base}/metrics")
        out["failures_metric"] = [l for l in metrics.decode().splitlines() if l.startswith("assent_webhook_failures_total")]
        assent.stop()
    finally:
        if assent.proc is not None:
            procs.stop(assent.proc)
            assent.proc = None
    out["backlog_from"] = backlog_from
    results["webhooks"] = out


def postgres_phase(procs: Processes, baseline_base: str, workdir: Path, results: dict) -> None:
    ensure_postgres()
    name = f"assent_bench_{os.getpid()}_{int(time.time())}"
    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    psql(admin, f'CREATE DATABASE "{name}"')
    log(f"postgres: created database {name}")
    try:
        pg = workdir / "postgres"
        pg.mkdir()
        assent = Assent(procs, pg, f"postgres://postgres@127.0.0.1:5432/{name}", "postgres")
        assent.bootstrap()
        assent.grow_to(PG_RECORDS)
        for scenario in ("list_user", "list_audit", "record"):
            results["scenarios"].append(measure(assent, baseline_base, scenario, "postgres"))
            if scenario == "list_audit":
                audit(assent, baseline_base, "postgres", results)
        results["seeding"]["postgres"] = assent.seeded
        results["postgres_version"] = psql(admin, "SHOW server_version").strip()
    finally:
        # measure() stops its server even on failure; FORCE ends any connection that is left.
        psql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"postgres: dropped database {name}")


# ---------------------------------------------------------------- machine and output


def binary_age(source: str) -> str:
    """A warning when the Assent binary is older than the checkout's last commit (built before it)."""
    when = subprocess.run(["git", "-C", source, "log", "-1", "--format=%ct"], capture_output=True, text=True)
    if ASSENT_BIN.exists() and when.stdout.strip() and ASSENT_BIN.stat().st_mtime < int(when.stdout.strip()):
        return " (binary built before this commit)"
    return ""


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    mem_kib = int(re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.M).group(1))
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    # The commit the measured binaries come from: the checkout holding BENCH_BIN_DIR, if it is one.
    top = subprocess.run(["git", "-C", str(RELEASE), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    source = top.stdout.strip() if top.returncode == 0 and RELEASE.exists() else str(ROOT)
    commit = subprocess.run(["git", "-C", source, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", source, "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"], capture_output=True, text=True)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {
        "cores": int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "kernel": platform.release(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "commit": commit.stdout.strip() + (" (dirty)" if dirty.stdout.strip() else "") + binary_age(source),
        "wrk": " ".join((wrk_version.stdout + wrk_version.stderr).split()[:2]) or "wrk",
    }


def fmt_rate(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def fmt_ms(value: float | None) -> str:
    return "–" if value is None else (f"{value:.2f} ms" if value < 100 else f"{value:,.0f} ms")


def fmt_records(value: int) -> str:
    if value >= 1_000_000 and value % 1_000_000 == 0:
        return f"{value // 1_000_000}M"
    if value >= 1_000 and value % 1_000 == 0:
        return f"{value // 1_000}k"
    return f"{value:,}"


def met(flag: bool | None) -> str:
    return "n/a" if flag is None else ("met" if flag else "**not met**")


def render(results: dict) -> str:
    """The generated section of docs/BENCHMARKS.md (between the markers)."""
    m = results["machine"]
    c = results["config"]
    lines = [
        BEGIN,
        "<!-- Generated by bench/harness.py (./bench/run); edits between the markers are overwritten. -->",
        "",
        f"- **Date**: {results['date']}",
        f"- **Command**: `{results['command']}` (wall time {results['wall_seconds'] / 60:.1f} min including the build)"
        if results.get("wall_seconds") is not None else f"- **Command**: `{results['command']}`",
        f"- **Machine**: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB memory, Linux {m['kernel']}; "
        f"load average at start {' '.join(m['loadavg_at_start'])}",
        f"- **Commit**: {m['commit']}; {m['wrk']}"
        + (f"; PostgreSQL {results.get('postgres_version', '?')}" if "postgres" in results.get("phases", PHASES) else ""),
    ]
    if results["scenarios"]:
        lines += [
            f"- **Load**: wrk `-t{c['wrk_threads']} -c{c['wrk_connections']}`; per scenario a {c['warmup_s']} s warm-up on "
            f"each side, then baseline and Assent alternated ({c['rounds']} Assent run(s) of {c['duration_s']} s between "
            f"{c['rounds'] + 1} baseline runs); figures are medians, ratio = Assent req/s ÷ mean of the two adjacent "
            f"baseline runs (median over rounds). Each scenario runs on a freshly started Assent process.",
        ]
        lines += main_tables(results)
    if results.get("flows"):
        lines += flows_table(results["flows"])
    failed = [f"{r['scenario']} ({r['database']})" for r in results["scenarios"] + results["cost_curve"] if r["status"] == "FAIL"]
    failed += [f"export {r['format']} ({r['database']})" for r in results.get("exports", []) if r["status"] == "FAIL"]
    failed += [f"flows {r['scenario']} ({r['server']})" for r in results.get("flows", {}).get("rows", []) if r["status"] == "FAIL"]
    if failed:
        lines += ["", f"**FAILED** (failed flows, non-2xx responses or socket errors; figures above are not valid): {', '.join(failed)}"]
    lines.append(END)
    return "\n".join(lines)


def main_tables(results: dict) -> list[str]:
    """The alternated scenarios, the cost curve and tenant isolation."""
    lines = [
        "",
        "| scenario | database | records | req/s | p50 | p99 | baseline req/s | ratio | target | peak RSS |",
        "|---|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for row in results["scenarios"]:
        target = target_of(row)
        target_text = f"{target['text']}: {met(target['met'])}" if target else "–"
        rss_mib = row["peak_rss_kib"] / 1024
        status = " **FAIL**" if row["status"] == "FAIL" else ""
        lines.append(
            f"| {row['scenario']}{status} | {row['database']} | {fmt_records(row['records'])} | {fmt_rate(row['rps'])} | "
            f"{fmt_ms(row['p50_ms'])} | {fmt_ms(row['p99_ms'])} | {fmt_rate(row['baseline_rps'])} | "
            f"{'–' if row['ratio'] is None else format(row['ratio'], '.3f')} | {target_text} | "
            f"{rss_mib:.1f} MiB ({met(rss_mib <= RSS_TARGET_MIB)}) |"
        )
    wide = [f"`{r['scenario']}` ({r['database']}) at `-c{r['connections']}`" for r in results["scenarios"] if r.get("connections", WRK_CONNECTIONS) != WRK_CONNECTIONS]
    if wide:
        lines += ["", f"Measured at fewer connections than the others (each request counts the whole environment): {', '.join(wide)}."]
    exports = results.get("exports", [])
    if exports:
        lines += [
            "",
            "Exports of the whole audit list (one `GET …/oauthConsents` with `Accept: application/x-ndjson` or `text/csv`, "
            "read to the end by the harness, on a freshly started process; peak RSS is the server's VmHWM after the export):",
            "",
            "| format | database | records | rows | size | time | records/s | peak RSS |",
            "|---|---|---|---:|---:|---:|---:|---:|",
        ]
        for r in exports:
            status = " **FAIL**" if r["status"] == "FAIL" else ""
            lines.append(
                f"| {r['format']}{status} | {r['database']} | {fmt_records(r['records'])} | {r['rows']:,} | "
                f"{r['bytes'] / 2**20:.0f} MiB | {r['seconds']:.1f} s | {fmt_rate(r['records_per_s'])} | "
                f"{r['peak_rss_kib'] / 1024:.1f} MiB ({met(r['peak_rss_kib'] / 1024 <= RSS_TARGET_MIB)}) |"
            )
    peak = results["peak_rss_kib"] / 1024
    overhead = results.get("metrics_overhead")
    if overhead:
        lines += [
            "",
            f"Request metrics (`/metrics`) cost {overhead['overhead'] * 100:.1f} % of `read`'s throughput "
            f"({fmt_rate(overhead['rps_on'])} req/s with them, {fmt_rate(overhead['rps_off'])} with `ASSENT_METRICS=false`, "
            f"medians of alternated runs on two processes over the same database; target ≤ "
            f"{METRICS_OVERHEAD_TARGET * 100:g} %: {met(overhead['met'])}).",
        ]
    lines += [
        "",
        f"Peak RSS of the Assent server (VmHWM) over the whole run: **{peak:.1f} MiB** "
        f"(target ≤ {RSS_TARGET_MIB:g} MiB: {met(peak <= RSS_TARGET_MIB)}); the baseline's: "
        f"{results.get('baseline_peak_rss_kib', 0) / 1024:.1f} MiB."
        + (
            f" Not counted in it: the flows phase's Assent process, {results['flows']['peak_rss_kib']['assent'] / 1024:.1f} MiB "
            f"({met(results['flows']['peak_rss_kib']['assent'] / 1024 <= RSS_TARGET_MIB)}; see below)."
            if results.get("flows") else ""
        ),
    ]
    unstable = [
        f"{r['scenario']} ({r['database']}: {min(r['round_ratios']):.4f}–{max(r['round_ratios']):.4f})"
        for r in results["scenarios"]
        if len(r["round_ratios"]) > 1 and max(r["round_ratios"]) > UNSTABLE * min(r["round_ratios"])
    ]
    if unstable:
        lines.append(
            f"Ratio unstable between rounds (max > {UNSTABLE:g} × min; repeat before trusting): {', '.join(unstable)}."
        )
    seeding = []
    for database, calls in results["seeding"].items():
        total = sum(s["consents"] for s in calls)
        seconds = sum(s["wallSeconds"] for s in calls)
        seeding.append(f"{database} {total:,} records in {seconds:.0f} s")
    if seeding:
        lines.append(f"Seeding with `assent seed` took: {'; '.join(seeding)}.")
    if results["config"]["pg_records"] < results["config"]["records"]:
        lines.append(
            f"PostgreSQL ran on {results['config']['pg_records']:,} records, not {results['config']['records']:,} "
            "(seeding more would not fit the time budget)."
        )
    lines += [
        "",
        "Cost curve (SQLite; p99 as the environment grows; `record` adds records while it runs, the count is at its start):",
        "",
        "| scenario | records | req/s | p50 | p99 |",
        "|---|---|---:|---:|---:|",
    ]
    for name in ("record", "list_user"):
        for row in [r for r in results["cost_curve"] if r["scenario"] == name]:
            lines.append(
                f"| {name} | {fmt_records(row['records'])} | {fmt_rate(row['rps'])} | {fmt_ms(row['p50_ms'])} | {fmt_ms(row['p99_ms'])} |"
            )
    growth = []
    for name in ("record", "list_user"):
        curve = [r for r in results["cost_curve"] if r["scenario"] == name]
        if len(curve) >= 2 and curve[-1]["rps"]:
            first, last = curve[0], curve[-1]
            factor = first["rps"] / last["rps"]  # cost per request ∝ 1 / throughput at saturation
            growth.append(f"{name} {factor:.2f}× ({fmt_records(first['records'])} → {fmt_records(last['records'])}; "
                          f"≤ {COST_GROWTH_TARGET:g}×: {met(factor <= COST_GROWTH_TARGET)})")  # fmt: skip
    if growth:
        lines += ["", "Cost growth (throughput at the smallest size ÷ at the largest): " + "; ".join(growth) + "."]
    iso = results.get("isolation")
    if iso:
        floods = iso["floods"]
        ratio = iso["p99_ratio"]
        lines += [
            "",
            f"Tenant isolation (SQLite, one server): environment B records consents (`-c{iso['b_connections']}`) alone, then "
            f"while environment A floods the same server with consent writes and with wrong client secrets "
            f"(`-c{iso['flood_connections']}` each; A's request budget set to {iso['a_budget_rps']:,}/s with "
            f"`ASSENT_ENV_REQUEST_OVERRIDES`). Goal: B's p99 under the flood within {iso['target']:g}× its idle p99.",
            "",
            "| load | req/s | p50 | p99 | non-2xx |",
            "|---|---:|---:|---:|---:|",
            f"| B alone | {fmt_rate(iso['idle']['rps'])} | {fmt_ms(iso['idle']['p50_ms'])} | {fmt_ms(iso['idle']['p99_ms'])} | {iso['idle']['non2xx']} |",
            f"| B while the same floods hit the baseline process (control) | {fmt_rate(iso['control']['rps'])} | {fmt_ms(iso['control']['p50_ms'])} | {fmt_ms(iso['control']['p99_ms'])} | {iso['control']['non2xx']} |",
            f"| B under A's flood | {fmt_rate(iso['flooded']['rps'])} | {fmt_ms(iso['flooded']['p50_ms'])} | {fmt_ms(iso['flooded']['p99_ms'])} | {iso['flooded']['non2xx']} |",
            f"| A's consent writes (flood) | {fmt_rate(floods['a_records']['rps'])} | {fmt_ms(floods['a_records']['p50_ms'])} | {fmt_ms(floods['a_records']['p99_ms'])} | {floods['a_records']['non2xx']} |",
            f"| A's wrong secrets (flood) | {fmt_rate(floods['a_wrong_secrets']['rps'])} | {fmt_ms(floods['a_wrong_secrets']['p50_ms'])} | {fmt_ms(floods['a_wrong_secrets']['p99_ms'])} | {floods['a_wrong_secrets']['non2xx']} |",
            "",
            f"B's p99 under the flood: **{'–' if ratio is None else format(ratio, '.2f')}×** its idle p99 "
            f"(target ≤ {iso['target']:g}×: {met(None if ratio is None else ratio <= iso['target'])}); "
            f"with the floods sent to the baseline process instead (the cores are shared, not Assent): "
            f"{iso['control']['p99_ms'] / iso['idle']['p99_ms']:.2f}×.",
        ]
    return lines


SCENARIO_NAMES = {
    "returning": "returning browser",
    "first": "first-time browser",
    "returning_max": "returning browser, no cap",
}


def fmt_cpu(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def flows_table(flows: dict) -> list[str]:
    """Whole OAuth flows, Assent against oidc-provider: CPU per flow."""
    rates = flows["rates"]
    lines = [
        "",
        f"OAuth flows against node [oidc-provider](https://github.com/panva/node-oidc-provider) {flows['oidc_provider']} "
        f"(node {flows['node']}, `bench/peer`), measured {flows['date']} ({'quick' if flows['quick'] else 'full'} run; "
        f"Assent binary of commit {flows['commit']}, built {flows.get('assent_bin_built', '?')}). Both servers run side "
        f"by side; per scenario a {flows['warmup_s']} s warm-up of each without the cap, then {flows['rounds']} runs of "
        f"{flows['duration_s']} s each, alternated (peer, Assent, peer, …), driven by wrk "
        f"`-t{flows['connections']} -c{flows['connections']}` (`bench/wrk/flow.lua`, one browser per connection) at "
        f"the same rate cap for both: {rates['returning']:g} returning and {rates['first']:g} first-time flows/s "
        f"(the \"no cap\" rows: as fast as each server answers). Scopes `{flows['scope']}`, PKCE S256, "
        f"client_secret_basic. CPU = the server process's utime + stime (`/proc/PID/stat`, all threads) over the "
        f"measured runs ÷ completed flows. Goal: Assent's CPU per returning flow ≤ {flows['goal']:g} × oidc-provider's.",
        "",
        "| scenario | server | flows/s (cap) | CPU ms per flow | requests per flow | flow p50 | flow p99 | ratio Assent/peer | goal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in flows["rows"]:
        comparison = next(c for c in flows["comparisons"] if c["scenario"] == row["scenario"])
        assent = row["server"] == "assent"
        ratio = fmt_cpu(comparison["ratio"]) if assent else ""
        if not assent:
            goal = ""
        elif comparison["goal"] is None:
            goal = "–"
        else:
            goal = f"≤ {comparison['goal']:g}: {met(comparison['met'])}"
        status = " **FAIL**" if row["status"] == "FAIL" else ""
        lines.append(
            f"| {SCENARIO_NAMES.get(row['scenario'], row['scenario'])}{status} | {'Assent' if assent else 'oidc-provider'} | "
            f"{row['flows_per_s']:,.1f} ({format(row['rate_cap'], 'g') if row['rate_cap'] else 'no cap'}) | {fmt_cpu(row['cpu_ms_per_flow'])} | "
            f"{'–' if row['requests_per_flow'] is None else format(row['requests_per_flow'], '.1f')} | "
            f"{fmt_ms(row['flow_p50_ms'])} | {fmt_ms(row['flow_p99_ms'])} | {ratio} | {goal} |"
        )
    rounds = "; ".join(
        f"{SCENARIO_NAMES.get(c['scenario'], c['scenario'])} " + ", ".join(fmt_cpu(r) for r in c["round_ratios"])
        for c in flows["comparisons"]
    )
    peaks = flows["peak_rss_kib"]
    drivers = ", ".join(
        f"{SCENARIO_NAMES.get(r['scenario'], r['scenario'])} {r['server']} {fmt_cpu(r['driver_cpu_ms_per_flow'])}"
        for r in flows["rows"]
    )
    busy = max(r["machine_busy"] for r in flows["rows"])
    lines += [
        "",
        f"Ratio per round: {rounds}. Peak RSS: Assent {peaks['assent'] / 1024:.1f} MiB, oidc-provider "
        f"{peaks['oidc-provider'] / 1024:.1f} MiB. wrk's own CPU ms per flow: {drivers}. Busiest run: all cores "
        f"{100 * busy:.0f} % busy (every process on the machine, from `/proc/stat`).",
    ]
    if flows.get("assent_user_with_password_cpu_ms") is not None:
        lines[-1] += (
            f" Assent's first-time flow includes an Argon2id password verification, oidc-provider's dev login "
            f"checks no password: creating a user with a password (one Argon2id hash, the same work) cost Assent "
            f"{flows['assent_user_with_password_cpu_ms']:.1f} CPU ms."
        )
    return lines


DOC_TEMPLATE = """# Benchmarks

Measured with `./bench/run` (see [bench/README.md](../bench/README.md) for what it runs and how to
read the figures). Everything between the markers below is regenerated by every full run; the
rest of this page is written by hand.

{generated}

## What limits each path

<!-- To be filled in after profiling. -->

### record

### read

### list_user / list_audit

### token

### PostgreSQL
"""


def write_doc(results: dict) -> None:
    generated = render(results)
    if DOC.exists():
        text = DOC.read_text()
        if BEGIN not in text or END not in text:
            raise BenchError(f"{DOC} lacks the {BEGIN} / {END} markers")
        before, rest = text.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        text = before + generated + after
    else:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        text = DOC_TEMPLATE.format(generated=generated)
    DOC.write_text(text)


def print_tables(results: dict) -> None:
    print("\n" + "\n".join(l for l in render(results).splitlines() if not l.startswith("<!--")) + "\n", flush=True)


# ---------------------------------------------------------------- main


def run() -> int:
    unknown = [p for p in ONLY if p not in PHASES]
    if unknown:
        raise BenchError(f"BENCH_ONLY names unknown phase(s) {', '.join(unknown)}; the phases are {', '.join(PHASES)}")
    # The A/B and webhooks phases run only when asked for by name.
    phases = [p for p in PHASES if p in ONLY] if ONLY else [p for p in PHASES if p not in ("ab", "webhooks")]
    needs_baseline = any(p in phases for p in ("sqlite", "isolation", "postgres", "webhooks"))
    tools = ["wrk"] + (["psql", "pg_isready"] if "postgres" in phases else [])
    for tool in tools:
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} is not installed (bench/run installs wrk; psql comes with PostgreSQL)")
    for binary in [ASSENT_BIN] + ([BASELINE_BIN] if needs_baseline else []):
        if not binary.exists():
            raise BenchError(
                f"{binary} is missing: build with `cargo build --release -p assent -p assent-bench-baseline --bins`, "
                "or point BENCH_BIN_DIR at a directory holding release binaries"
            )
    command = os.environ.get("BENCH_COMMAND", "python3 bench/harness.py")
    if QUICK and "BENCH_QUICK" not in command:
        command = f"BENCH_QUICK={os.environ['BENCH_QUICK']} {command}"
    if ONLY and "BENCH_ONLY" not in command:
        command = f"BENCH_ONLY={','.join(ONLY)} {command}"
    results: dict = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "quick": QUICK,
        "phases": phases,
        "machine": machine(),
        "config": {
            "wrk_threads": WRK_THREADS, "wrk_connections": WRK_CONNECTIONS, "wrk_timeout": WRK_TIMEOUT,
            "rounds": ROUNDS, "duration_s": DURATION, "warmup_s": WARMUP, "records": RECORDS, "steps": STEPS,
            "pg_records": PG_RECORDS, "records_per_user": RECORDS_PER_USER, "audit_filter": AUDIT_FILTER,
        },  # fmt: skip
        "scenarios": [],
        "cost_curve": [],
        "seeding": {},
    }
    if needs_baseline:
        log(
            f"{'QUICK ' if QUICK else ''}run of {', '.join(phases)}: {RECORDS:,} records (PostgreSQL {PG_RECORDS:,}), "
            f"{ROUNDS} round(s) of {DURATION} s; binaries from {RELEASE}"
        )
    else:
        log(f"{'QUICK ' if QUICK else ''}run of {', '.join(phases)}; binaries from {RELEASE}")
    procs = Processes()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        baseline = None
        baseline_base = ""
        if needs_baseline:
            port = free_port()
            baseline_base = f"http://127.0.0.1:{port}"
            baseline_log = workdir / "baseline.log"
            baseline = procs.start([str(BASELINE_BIN), "--listen", f"127.0.0.1:{port}"], server_env({}), baseline_log)
            wait_ready(baseline, f"{baseline_base}/health", baseline_log)
        if "sqlite" in phases:
            sqlite_phase(procs, baseline_base, workdir, results)
        if "isolation" in phases:
            isolation_phase(procs, baseline_base, workdir, results)
        if "flows" in phases:
            flows_phase(procs, workdir, results)
        if "postgres" in phases:
            postgres_phase(procs, baseline_base, workdir, results)
        if "ab" in phases:
            ab_phase(procs, workdir, results)
        if "webhooks" in phases:
            webhooks_phase(procs, baseline_base, workdir, results)
        if baseline is not None:
            if baseline.poll() is not None:
                raise BenchError(f"the baseline died; log {baseline_log}:\n{tail(baseline_log)}")
            results["baseline_peak_rss_kib"] = vm_hwm_kib(baseline.pid)
    finally:
        procs.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    rows = results["scenarios"] + results["cost_curve"]
    results["peak_rss_kib"] = max((r["peak_rss_kib"] for r in rows + results.get("exports", [])), default=0)
    started = os.environ.get("BENCH_STARTED_AT")
    results["wall_seconds"] = round(time.time() - float(started), 1) if started else None
    for row in results["scenarios"]:
        row["target"] = target_of(row)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    latest = RESULTS_DIR / "latest.json"
    if QUICK:
        out = RESULTS_DIR / "quick.json"
        out.write_text(json.dumps(results, indent=2) + "\n")
        log(f"wrote {out.relative_to(ROOT)}")
        log("quick run: docs/BENCHMARKS.md left as it is (regenerate with --render bench/results/quick.json)")
    elif ONLY == ["flows"] and latest.exists():
        # Only the flows phase: its section of the last full run's results is replaced, the rest kept.
        merged = json.loads(latest.read_text())
        merged["flows"] = results["flows"]
        latest.write_text(json.dumps(merged, indent=2) + "\n")
        log(f"updated the flows of {latest.relative_to(ROOT)}")
        write_doc(merged)
        log(f"wrote {DOC.relative_to(ROOT)}")
    elif ONLY:
        out = RESULTS_DIR / "partial.json"
        out.write_text(json.dumps(results, indent=2) + "\n")
        log(f"wrote {out.relative_to(ROOT)}; docs/BENCHMARKS.md left as it is (a partial run)")
    else:
        latest.write_text(json.dumps(results, indent=2) + "\n")
        log(f"wrote {latest.relative_to(ROOT)}")
        write_doc(results)
        log(f"wrote {DOC.relative_to(ROOT)}")
    print_tables(results)
    failed = [f"{r['scenario']} ({r['database']})" for r in rows if r["status"] == "FAIL"]
    failed += [f"export {r['format']} ({r['database']})" for r in results.get("exports", []) if r["status"] == "FAIL"]
    failed += [f"flows {r['scenario']} ({r['server']})" for r in results.get("flows", {}).get("rows", []) if r["status"] == "FAIL"]
    if failed:
        print(f"bench: {len(failed)} scenario(s) FAILED: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--render":
        results = json.loads(Path(sys.argv[2]).read_text())
        write_doc(results)
        print_tables(results)
        return 0
    if len(sys.argv) > 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return run()
    except BenchError as error:
        print(f"\nbench: FAILED: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
