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
RELEASE = ROOT / "target" / "release"
ASSENT_BIN = RELEASE / "assent"
BASELINE_BIN = RELEASE / "baseline"

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")

# Load shape, the same for the baseline and Assent. The machine has 2 cores and wrk shares them
# with the server under test: one wrk thread (a second would only take CPU from the server), and
# 32 connections, enough to keep every server worker and the 16 pooled database connections busy
# (closed loop: latency includes queueing behind those 32 requests).
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "1"))
WRK_CONNECTIONS = int(os.environ.get("BENCH_WRK_CONNECTIONS", "32"))
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
    "list_user": ("p99_ms", 10.0),
    "list_audit": ("p99_ms", 10.0),
}
PG_TARGETS = {"record": ("ratio", 0.3), "list_user": ("p99_ms", 10.0), "list_audit": ("p99_ms", 10.0)}
LIST_TARGET_RECORDS = 1_000_000  # the list p99 target applies at this size
RSS_TARGET_MIB = 100.0
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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003 - the flow reads each Location itself
        return None


def browser(method: str, url: str, cookie: str, body: bytes | None = None) -> tuple[int, Message, bytes]:
    """One request of the hosted flow: the session cookie in, redirects not followed, headers out."""
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


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

    def __init__(self, procs: Processes, workdir: Path, database_url: str, label: str) -> None:
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
        self.server_bin = workdir.parent / "bench-sut"
        if not self.server_bin.exists():
            shutil.copy2(ASSENT_BIN, self.server_bin)
        self.proc: subprocess.Popen | None = None
        self.base = ""
        self.token = ""
        self.seeded: list[dict] = []
        self.sample: dict = {}
        self.writer_user = ""
        self.flow: dict[str, str] = {}

    def cli(self, *args: str) -> dict:
        done = subprocess.run(
            [str(ASSENT_BIN), *args], env=self.env, cwd=self.workdir, capture_output=True, text=True, timeout=1800
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
        wait_ready(self.proc, f"{self.base}/health", self.log_path)
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
        status, body = http("POST", f"{api}/applications", admin, json.dumps(app).encode())
        if status != 201:
            raise BenchError(f"creating the flow application answered {status}: {body[:500]!r}")
        client_id = json.loads(body)["id"]
        status, body = http("GET", f"{api}/applications/{client_id}/secret", admin)
        secret = json.loads(body)["secret"]
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
        runs: list[tuple[str, dict]] = []
        order = (["baseline"] if alternate else []) + (["assent", "baseline"] if alternate else ["assent"]) * ROUNDS
        failures = []
        for side in (["baseline"] if alternate else []) + ["assent"]:
            warm = wrk(script, a_url if side == "assent" else b_url, WARMUP, env)
            failures += [f"{side} warm-up: {p}" for p in warm["problems"]]
        for side in order:
            run = wrk(script, a_url if side == "assent" else b_url, DURATION, env)
            runs.append((side, run))
            failures += [f"{side} run {len(runs)}: {p}" for p in run["problems"]]
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
        "failures": failures,
        "status": "FAIL" if failures else "ok",
        "runs": [{"side": side, **{k: v for k, v in r.items() if k != "lua"}} for side, r in runs],
        "path": path,
    }
    show = f"{name} [{database}, {records:,} records]: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms"
    if alternate:
        show += f", baseline {result['baseline_rps']:.0f} req/s, ratio {result['ratio']:.3f} (rounds {', '.join(f'{r:.3f}' for r in ratios)})"
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
    if row["records"] < LIST_TARGET_RECORDS:
        return {"text": f"p99 ≤ {bound:g} ms at 1M", "met": None}  # not applicable below 1M records
    return {"text": f"p99 ≤ {bound:g} ms at 1M", "met": row["p99_ms"] <= bound}


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
    results["seeding"]["sqlite"] = assent.seeded


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
        results["seeding"]["postgres"] = assent.seeded
        results["postgres_version"] = psql(admin, "SHOW server_version").strip()
    finally:
        # measure() stops its server even on failure; FORCE ends any connection that is left.
        psql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"postgres: dropped database {name}")


# ---------------------------------------------------------------- machine and output


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    mem_kib = int(re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.M).group(1))
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"], capture_output=True, text=True)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {
        "cores": int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "kernel": platform.release(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "commit": commit.stdout.strip() + (" (dirty)" if dirty.stdout.strip() else ""),
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
        f"- **Commit**: {m['commit']}; {m['wrk']}; PostgreSQL {results.get('postgres_version', '?')}",
        f"- **Load**: wrk `-t{c['wrk_threads']} -c{c['wrk_connections']}`; per scenario a {c['warmup_s']} s warm-up on "
        f"each side, then baseline and Assent alternated ({c['rounds']} Assent run(s) of {c['duration_s']} s between "
        f"{c['rounds'] + 1} baseline runs); figures are medians, ratio = Assent req/s ÷ mean of the two adjacent "
        f"baseline runs (median over rounds). Each scenario runs on a freshly started Assent process.",
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
    peak = results["peak_rss_kib"] / 1024
    lines += [
        "",
        f"Peak RSS of the Assent server (VmHWM) over the whole run: **{peak:.1f} MiB** "
        f"(target ≤ {RSS_TARGET_MIB:g} MiB: {met(peak <= RSS_TARGET_MIB)}); the baseline's: "
        f"{results.get('baseline_peak_rss_kib', 0) / 1024:.1f} MiB.",
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
    failed = [f"{r['scenario']} ({r['database']})" for r in results["scenarios"] + results["cost_curve"] if r["status"] == "FAIL"]
    if failed:
        lines += ["", f"**FAILED** (non-2xx responses or socket errors; figures above are not valid): {', '.join(failed)}"]
    lines.append(END)
    return "\n".join(lines)


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
    for tool in ("wrk", "psql", "pg_isready"):
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} is not installed (bench/run installs wrk; psql comes with PostgreSQL)")
    for binary in (ASSENT_BIN, BASELINE_BIN):
        if not binary.exists():
            raise BenchError(f"{binary} is missing: build with `cargo build --release -p assent -p assent-bench-baseline --bins`")
    command = os.environ.get("BENCH_COMMAND", "python3 bench/harness.py")
    results: dict = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "quick": QUICK,
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
    log(f"{'QUICK ' if QUICK else ''}run: {RECORDS:,} records (PostgreSQL {PG_RECORDS:,}), {ROUNDS} round(s) of {DURATION} s")
    procs = Processes()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        port = free_port()
        baseline_base = f"http://127.0.0.1:{port}"
        baseline_log = workdir / "baseline.log"
        baseline = procs.start([str(BASELINE_BIN), "--listen", f"127.0.0.1:{port}"], server_env({}), baseline_log)
        wait_ready(baseline, f"{baseline_base}/health", baseline_log)
        sqlite_phase(procs, baseline_base, workdir, results)
        isolation_phase(procs, baseline_base, workdir, results)
        postgres_phase(procs, baseline_base, workdir, results)
        if baseline.poll() is not None:
            raise BenchError(f"the baseline died; log {baseline_log}:\n{tail(baseline_log)}")
        results["baseline_peak_rss_kib"] = vm_hwm_kib(baseline.pid)
    finally:
        procs.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    rows = results["scenarios"] + results["cost_curve"]
    results["peak_rss_kib"] = max(r["peak_rss_kib"] for r in rows)
    started = os.environ.get("BENCH_STARTED_AT")
    results["wall_seconds"] = round(time.time() - float(started), 1) if started else None
    for row in results["scenarios"]:
        row["target"] = target_of(row)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / ("quick.json" if QUICK else "latest.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    log(f"wrote {out.relative_to(ROOT)}")
    if QUICK:
        log("quick run: docs/BENCHMARKS.md left as it is (regenerate with --render bench/results/quick.json)")
    else:
        write_doc(results)
        log(f"wrote {DOC.relative_to(ROOT)}")
    print_tables(results)
    failed = [r for r in rows if r["status"] == "FAIL"]
    if failed:
        print(f"bench: {len(failed)} scenario(s) FAILED: " + ", ".join(f"{r['scenario']} ({r['database']})" for r in failed), file=sys.stderr)
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
