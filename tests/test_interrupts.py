"""A run that is killed (SIGKILL) or interrupted (Ctrl-C), with the real CLI in a separate process.

The sandbox runs in this process; `python -m provisioner provision` runs as a child and reaches it over
loopback, exactly as a user's shell or a pipeline would run it. Nothing is mocked: the kill is a real
SIGKILL, the Ctrl-C a real SIGINT.

- SIGKILL at seeded-random points during a 20-domain run, then a re-run: the zones end up equal to the
  result of an uninterrupted run on an identically seeded second sandbox (modulo each sandbox's random
  verification tokens), other teams' values byte for byte, every domain Verified. (The runs that are
  killed are child processes; the uninterrupted run and the re-run run in this process.)
- Ctrl-C while verification is pending: exit 130 within seconds, one parseable JSON document saying for each
  domain that it was interrupted and what it had written, and no traceback.
"""

from __future__ import annotations

import json
import os
import pty
import random
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from acs_sandbox import Sandbox, SandboxOptions
from tests.e2e_helpers import (
    DKIM1,
    DKIM1_TARGET,
    DKIM2,
    DKIM2_TARGET,
    DNS_RG,
    EMAIL_RG,
    EMAIL_SERVICE,
    World,
    invoke,
    valid_document,
)

ROOT = Path(__file__).resolve().parents[1]
SUBSCRIPTION = "5e7b2c1a-0000-4000-8000-00000000c0de"
TOKEN_PREFIX = "ms-domain-verification="

# ---- the seeded world: 20 CustomerManaged domains over 2 zones holding other teams' records ---------------
ZONE_A = "killed-a.example"
ZONE_B = "killed-b.example"
# zone A: its apex is an email domain too (its TXT set is shared with a foreign value)
DOMAINS = [
    ZONE_A,
    *(f"m{i:02}.{ZONE_A}" for i in range(1, 10)),
    *(f"m{i:02}.{ZONE_B}" for i in range(10, 19)),
    f"news.m19.{ZONE_B}",  # two labels below the zone
]
SPF_DOMAIN = f"m03.{ZONE_A}"  # already has an SPF record (another sender), merged rather than duplicated
FOREIGN_SPF = "v=spf1 include:_spf.other.example -all"
FOREIGN_TXT: dict[tuple[str, str], list[list[str]]] = {
    (ZONE_A, "@"): [
        ["google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"],
        ["first string of a two-string record; ", "  the second, with spaces kept  "],
    ],
    (ZONE_B, "@"): [["apex-foreign=keep-me"]],
    (ZONE_A, "m03"): [[FOREIGN_SPF], ["site-verification=m03-other-team"]],
    (ZONE_B, "m12"): [["x" * 255, "tail of a 300-character record" + "y" * 15]],
}
FOREIGN_METADATA = {"owner": "web-team"}


def relative(domain: str) -> tuple[str, str]:
    """(zone, name relative to the zone) of one of DOMAINS."""
    zone = ZONE_A if domain.endswith(ZONE_A) else ZONE_B
    return zone, "@" if domain == zone else domain.removesuffix("." + zone)


def seed(sb: Sandbox) -> World:
    """The same state in any sandbox: same subscription, zones, domains and foreign records (only the
    verification tokens differ: the sandbox draws one at random per domain)."""
    world = World(sb, SUBSCRIPTION)
    world.email_domains(DOMAINS)
    for zone in (ZONE_A, ZONE_B):
        world.zone(zone)
        world.mx(zone, "@", f"mx1.{zone}")
        world.a(zone, "www", "192.0.2.10")
    for (zone, name), records in FOREIGN_TXT.items():
        world.txt(zone, name, records, ttl=300, metadata=FOREIGN_METADATA)
    world.a(ZONE_A, "m05", "192.0.2.55")  # an A set at an email domain's own name
    world.mx(ZONE_B, "m11", f"mx.m11.{ZONE_B}")
    return world


def write_config(path: Path, domains: list[str]) -> Path:
    lines = [
        "[defaults]",
        f'subscription = "{SUBSCRIPTION}"',
        f'resource_group = "{EMAIL_RG}"',
        f'email_service = "{EMAIL_SERVICE}"',
    ]
    for domain in domains:
        lines += ["", "[[domain]]", f'name = "{domain}"']
    path.write_text("\n".join(lines) + "\n")
    return path


# ---- the CLI as a child process -----------------------------------------------------------------------
def command(sb: Sandbox, config: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "provisioner",
        "provision",
        "--config",
        str(config),
        "--auth",
        "sandbox",
        "--arm-endpoint",
        sb.arm_endpoint,
        "--dns-server",
        f"127.0.0.1:{sb.dns_port}",
        "--output",
        "json",
        "--poll-interval",
        "0.05",
        "--propagation-timeout",
        "20",
        "--timeout",
        "120",
    ]


def child_env(sb: Sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ACS_DNS_ARM_ENDPOINT", "AZURE_SUBSCRIPTION_ID")}
    env["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
    env["PYTHONPATH"] = str(ROOT)
    return env


def run_to_end(sb: Sandbox, config: Path) -> tuple[int, dict, str]:
    """A run to its end (the reference, and the re-run after the kills) in this process: only the runs
    that are killed need a process of their own. (exit code, the JSON document, all it printed)"""
    result = invoke(sb, command(sb, config)[3:])
    printed = f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    try:
        doc = valid_document(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"stdout is not one JSON document\n{printed}") from None
    return result.exit_code, doc, printed


def describe(proc: subprocess.Popen, out: str, err: str) -> str:
    return f"exit {proc.returncode}\nstdout:\n{out}\nstderr:\n{err}"


# ---- the sandbox's request log, read in-process ----------------------------------------------------------
class LogWatch:
    """Counts the sandbox's successfully answered requests of given routes from a starting point."""

    def __init__(self, sb: Sandbox) -> None:
        self.log = sb.app.log
        self.start = self.seen = len(self.log.entries)
        self.counts: Counter[str | None] = Counter()

    def count(self, route: str | None = None) -> int:
        """Read only the entries added since the last call (triggers poll this every millisecond)."""
        entries = self.log.entries[self.seen :]  # the log only grows during a test (a slice is atomic)
        self.seen += len(entries)
        for e in entries:
            if 0 < e.status < 400:
                self.counts[e.route] += 1
                self.counts[None] += 1
        return self.counts[route]


PUT_RECORD_SET = "dns.recordsets.put"
INITIATE = "communication.domains.initiate"


# ---- the zones' final content, comparable across sandboxes ---------------------------------------------
def tokens_by_value(world: World) -> dict[str, str]:
    """Each domain's verification TXT value (random per sandbox) -> a placeholder naming the domain."""
    return {world.token_of(d): f"{TOKEN_PREFIX}<token of {d}>" for d in DOMAINS}


def zone_records(world: World, zone: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every record set of the zone: (lower-case name, type) -> ttl, values, metadata (no ETag: ETags are
    per sandbox by nature). Like `World.records`, but an empty record set (which Azure allows, and which
    a half-sent write must never leave behind) reads as values None/[] instead of failing."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for rs in world.dns.record_sets.list_all_by_dns_zone(DNS_RG, zone):
        rtype = rs.type.rsplit("/", 1)[-1].upper()
        values: Any = None
        if rtype == "TXT":
            values = [list(t.value) for t in rs.txt_records or []]
        elif rtype == "CNAME":
            values = rs.cname_record.cname if rs.cname_record else None
        elif rtype == "MX":
            values = [(m.preference, m.exchange) for m in rs.mx_records or []]
        elif rtype == "NS":
            values = sorted(n.nsdname for n in rs.ns_records or [])
        elif rtype == "A":
            values = [a.ipv4_address for a in rs.a_records or []]
        out[(rs.name.lower(), rtype)] = {"ttl": rs.ttl, "values": values, "metadata": dict(rs.metadata or {})}
    return out


def empty_record_sets(world: World) -> list[str]:
    """Record sets with no record at all: what a write cut off after its headers would leave."""
    return [
        f"{rtype} {name} in {zone}"
        for zone in (ZONE_A, ZONE_B)
        for (name, rtype), rs in zone_records(world, zone).items()
        if rtype in ("TXT", "CNAME") and not rs["values"]
    ]


def zone_content(world: World, zone: str, tokens: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every record set (name, type) -> ttl, values (TXT strings in order, tokens normalised), metadata."""
    out = zone_records(world, zone)
    for (_, rtype), rs in out.items():
        if rtype == "TXT":
            rs["values"] = [[tokens.get(s, s) for s in record] for record in rs["values"]]
            rs["metadata"] = {k: tokens.get(v, v) for k, v in rs["metadata"].items()}  # acsdns_token
    return out


def assert_final_state(world: World, contents: dict[str, dict], tokens: dict[str, str]) -> None:
    """One token per domain and one SPF per name, the DKIM CNAMEs, foreign values byte for byte, Verified."""
    for domain in DOMAINS:
        zone, name = relative(domain)
        content = contents[zone]
        texts = ["".join(r) for r in content[(name.lower(), "TXT")]["values"]]
        placeholder = f"{TOKEN_PREFIX}<token of {domain}>"
        assert texts.count(placeholder) == 1, (domain, texts)
        assert sum(1 for t in texts if t.startswith(TOKEN_PREFIX)) == 1, (domain, texts)
        assert sum(1 for t in texts if t.lower().startswith("v=spf1")) == 1, (domain, texts)
        for selector, target in ((DKIM1, DKIM1_TARGET), (DKIM2, DKIM2_TARGET)):
            cname = selector if name == "@" else f"{selector}.{name}"
            assert content[(cname.lower(), "CNAME")]["values"] == target, (domain, cname)
        assert world.states(domain) == dict.fromkeys(("Domain", "SPF", "DKIM", "DKIM2"), "Verified"), domain
    # every token appears once in the whole of its zone, never at another domain's name
    for zone, content in contents.items():
        all_texts = ["".join(r) for (_, t), rs in content.items() if t == "TXT" for r in rs["values"]]
        tokens_here = [t for t in all_texts if t.startswith(TOKEN_PREFIX)]
        assert len(tokens_here) == len(set(tokens_here)) == sum(relative(d)[0] == zone for d in DOMAINS)
        assert not any(t in tokens for t in all_texts), "a token that is not normalised: a foreign token?"
    # other teams' values, byte for byte and in their order (the token and SPF go around them)
    for (zone, name), records in FOREIGN_TXT.items():
        stored = contents[zone][(name.lower(), "TXT")]
        kept = [r for r in stored["values"] if r in records]
        if (zone, name) == relative(SPF_DOMAIN):
            # the other sender's SPF is merged, not duplicated: its include stays, ACS's is added
            spf = "".join(next(r for r in stored["values"] if "".join(r).startswith("v=spf1")))
            assert spf.split()[0:2] == ["v=spf1", "include:_spf.other.example"], spf
            assert "include:spf.protection.outlook.com" in spf.split() and spf.endswith(" -all"), spf
            assert kept == [r for r in records if r != [FOREIGN_SPF]], (zone, name, stored)
        else:
            assert kept == records, (zone, name, stored)
        foreign = {k: v for k, v in stored["metadata"].items() if not k.startswith("acsdns_")}
        assert stored["ttl"] == 300 and foreign == FOREIGN_METADATA, (
            zone,
            name,
            stored,
        )  # + acs-dns's markers
    for zone in (ZONE_A, ZONE_B):
        assert contents[zone][("@", "MX")]["values"] == [(10, f"mx1.{zone}")]
        assert contents[zone][("www", "A")]["values"] == ["192.0.2.10"]
    assert contents[ZONE_A][("m05", "A")]["values"] == ["192.0.2.55"]
    assert contents[ZONE_B][("m11", "MX")]["values"] == [(10, f"mx.m11.{ZONE_B}")]


def incomplete_domains(world: World) -> list[str]:
    """Domains whose records are not all in their zone yet (token TXT and both DKIM CNAMEs)."""
    records = {zone: zone_records(world, zone) for zone in (ZONE_A, ZONE_B)}
    out = []
    for domain in DOMAINS:
        zone, name = relative(domain)
        token = world.token_of(domain)
        txt = records[zone].get((name.lower(), "TXT"), {"values": []})["values"]
        cnames = [(selector if name == "@" else f"{selector}.{name}").lower() for selector in (DKIM1, DKIM2)]
        if [token] not in txt or any((c, "CNAME") not in records[zone] for c in cnames):
            out.append(domain)
    return out


# ---- 1. SIGKILL at random points, then a re-run: the same zones as an uninterrupted run ---------------
SEED = 20240604
LATENCY = SandboxOptions(latency_ms=5, verify_delay=0.3)


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], jitter: float, limit: float = 60) -> bool:
    """SIGKILL `proc` `jitter` seconds after `ready()` first holds; False when the process ended first."""
    started = time.monotonic()
    while not ready():
        if proc.poll() is not None:
            return False
        if time.monotonic() - started > limit:
            raise AssertionError(f"kill trigger not reached within {limit}s")
        time.sleep(0.001)
    time.sleep(jitter)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    return True


@pytest.mark.usefixtures("unmeasured_children")
def test_sigkill_at_random_points_then_rerun_converges_to_the_uninterrupted_result(tmp_path: Path) -> None:
    config = write_config(tmp_path / "domains.toml", DOMAINS)
    rng = random.Random(SEED)
    contents: dict[str, dict[str, dict]] = {}

    # the reference: one uninterrupted run on its own sandbox
    with Sandbox(LATENCY) as sb, seed(sb) as world:
        watch = LogWatch(sb)
        code, doc, printed = run_to_end(sb, config)
        assert code == 0, printed
        assert [d["result"] for d in doc["domains"]] == ["verified"] * len(DOMAINS), printed
        entries = list(sb.app.log.entries)[watch.start :]
        active = entries[-1].time - entries[0].time  # from the run's first ARM request to its last
        assert watch.count(PUT_RECORD_SET) == 3 * len(DOMAINS)
        tokens = tokens_by_value(world)
        reference = {z: zone_content(world, z, tokens) for z in (ZONE_A, ZONE_B)}
        assert_final_state(world, reference, tokens)

    # the same world, killed three times at seeded-random points, then run to the end
    with Sandbox(LATENCY) as sb, seed(sb) as world:
        env = child_env(sb)
        # (what must have happened in this run before the kill, the extra delay before it)
        kills: list[tuple[str, Callable[[LogWatch], bool], float]] = []
        n_writes = rng.randint(1, 36)  # of 60 record-set writes: some domains half written
        kills.append(
            (f"after {n_writes} writes", lambda w: w.count(PUT_RECORD_SET) >= n_writes, rng.uniform(0, 0.02))
        )
        n_starts = rng.randint(1, 16)  # of 80 verification starts (at least 32 remain after kill 1)
        kills.append(
            (f"after {n_starts} starts", lambda w: w.count(INITIATE) >= n_starts, rng.uniform(0, 0.02))
        )
        delay = rng.uniform(0, active)
        kills.append((f"{delay:.2f}s into the run", lambda w: w.count() > 0, delay))

        happened = []
        for i, (what, trigger, jitter) in enumerate(kills):
            watch = LogWatch(sb)
            proc = subprocess.Popen(
                command(sb, config),
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                killed = kill_when(proc, lambda w=watch, t=trigger: t(w), jitter)
            finally:
                if proc.poll() is None:
                    proc.kill()
                out, err = proc.communicate(timeout=10)
            if killed:
                assert proc.returncode == -signal.SIGKILL
                happened.append(
                    f"kill {i + 1} ({what}): {watch.count(PUT_RECORD_SET)} writes, "
                    f"{watch.count(INITIATE)} starts done; empty record sets in the zones: "
                    f"{empty_record_sets(world) or 'none'}"
                )
            else:  # only the last, time-based kill may come after the run ended
                assert i == len(kills) - 1, f"run ended before kill {i + 1} ({what})\n" + describe(
                    proc, out, err
                )
                assert proc.returncode == 0, describe(proc, out, err)
                happened.append(f"kill {i + 1} ({what}): the run had already finished")
            if i == 0:
                # the first kill left work half done: the re-runs had something to repair
                assert incomplete_domains(world), happened

        code, doc, printed = run_to_end(sb, config)
        assert code == 0, printed + "\n" + "\n".join(happened)
        assert [d["result"] for d in doc["domains"]] == ["verified"] * len(DOMAINS), printed
        tokens = tokens_by_value(world)
        contents = {z: zone_content(world, z, tokens) for z in (ZONE_A, ZONE_B)}
        assert_final_state(world, contents, tokens)

    for zone in (ZONE_A, ZONE_B):
        assert sorted(contents[zone]) == sorted(reference[zone]), zone
        for key in reference[zone]:
            assert contents[zone][key] == reference[zone][key], (zone, key, happened)


# ---- 1b. the mechanism: a write whose sender dies after its headers ------------------------------------
def send_headers_then_die(sb: Sandbox, method: str, path: str, headers: dict[str, str], length: int) -> None:
    """What a client SIGKILLed between sending a request's headers and its body leaves on the wire: the
    headers (with the Content-Length of a body that never comes), then the connection closes."""
    host, port = sb.arm_endpoint.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=sb.ca_bundle)
    with context.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host) as tls:
        head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Authorization: Bearer sandbox"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head += ["Content-Type: application/json", f"Content-Length: {length}", "", ""]
        tls.sendall("\r\n".join(head).encode())


def test_a_write_cut_off_before_its_body_changes_nothing() -> None:
    """ARM never acts on a request whose body did not arrive. The sandbox must not either, or a SIGKILLed
    run leaves empty record sets behind: an empty DKIM CNAME (no target, no owner mark) that every re-run
    then refuses to touch, or a TXT set emptied of other teams' values."""
    with Sandbox(SandboxOptions()) as sb, World(sb) as world:
        zone = "cut-off.example"
        world.zone(zone)
        world.txt(zone, "mail", FOREIGN_TXT[(ZONE_A, "@")], ttl=300, metadata=FOREIGN_METADATA)
        before = zone_records(world, zone)
        etag = world.dns.record_sets.get(DNS_RG, zone, "mail", "TXT").etag
        base = (
            f"/subscriptions/{world.sub}/resourceGroups/{DNS_RG}/providers/Microsoft.Network/dnsZones/{zone}"
        )
        query = "?api-version=2018-05-01"
        # acs-dns's own two kinds of write: a guarded create (DKIM CNAME) and a guarded update (TXT set)
        send_headers_then_die(
            sb, "PUT", f"{base}/CNAME/{DKIM1}.mail{query}", {"If-None-Match": "*"}, length=180
        )
        send_headers_then_die(sb, "PUT", f"{base}/TXT/mail{query}", {"If-Match": etag}, length=400)
        until = time.monotonic() + 1.0
        while time.monotonic() < until:  # the sandbox handles each connection on its own thread
            assert zone_records(world, zone) == before, (
                "the sandbox acted on a request whose body never arrived (acs_sandbox/http.py "
                "_Handler._handle reads `rfile.read(length)` and dispatches even when fewer than "
                "Content-Length bytes came): " + repr(zone_records(world, zone))
            )
            time.sleep(0.05)


# ---- 2. Ctrl-C: exit 130 soon, one JSON document saying what was written, no traceback ------------------
CTRL_C_DOMAINS = [f"c{i}.{ZONE_A}" for i in range(10)]
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")


def seed_ctrl_c(sb: Sandbox) -> World:
    world = World(sb, SUBSCRIPTION)
    world.email_domains(CTRL_C_DOMAINS)
    world.zone(ZONE_A)
    world.txt(ZONE_A, "@", FOREIGN_TXT[(ZONE_A, "@")])
    return world


class TerminalReader:
    """The child's stderr as a terminal (a pty), as when a person runs acs-dns and presses Ctrl-C: progress
    is live there. Read on a thread, so the child never blocks on a full terminal buffer."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.text = ""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def start(self) -> None:
        os.close(self.slave)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO once the child closed its end
                return
            if not chunk:
                return
            with self._lock:
                self.text += chunk.decode(errors="replace")

    def plain(self) -> str:
        with self._lock:
            return _ANSI.sub("", self.text).replace("\r", "\n")

    def close(self) -> None:
        self._thread.join(timeout=5)
        os.close(self.master)


def wrote_lines(text: str) -> set[tuple[str, str, str]]:
    """(domain, type, name) of each `wrote` progress line."""
    found = re.findall(r"(\S+) wrote\s+(TXT|CNAME)\s+(\S+)", text)
    return set(found)


@pytest.mark.parametrize("stderr_is", ["terminal", "pipe"])
def test_ctrl_c_exits_130_and_reports_what_was_written(tmp_path: Path, stderr_is: str) -> None:
    """Ctrl-C once every domain has written its records and verification (30 s) is pending.

    terminal: a person at a terminal; progress is live on stderr, and Ctrl-C comes once it shows every
    `wrote` line. pipe: a pipeline (`--output json` prints no progress to a pipe); Ctrl-C comes once the
    sandbox has answered every write."""
    config = write_config(tmp_path / "domains.toml", CTRL_C_DOMAINS)
    expected_writes = 3 * len(CTRL_C_DOMAINS)  # per domain: its TXT set and both DKIM CNAMEs
    with Sandbox(SandboxOptions(latency_ms=5, verify_delay=30)) as sb, seed_ctrl_c(sb) as world:
        watch = LogWatch(sb)
        terminal = TerminalReader() if stderr_is == "terminal" else None
        proc = subprocess.Popen(
            command(sb, config),
            env={**child_env(sb), "COLUMNS": "200", "TERM": "xterm"},
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=terminal.slave if terminal else subprocess.PIPE,
            text=True,
        )

        def writes_done() -> bool:
            if terminal is not None:
                # only whole progress lines: the live status line repeats the latest one as "domain: wrote"
                seen = {w for w in wrote_lines(terminal.plain()) if w[0] in CTRL_C_DOMAINS}
                return len(seen) >= expected_writes
            return watch.count(PUT_RECORD_SET) >= expected_writes

        out, err = "", ""
        try:
            if terminal is not None:
                terminal.start()
            deadline = time.monotonic() + 30
            while not writes_done():
                if proc.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            if not writes_done():
                proc.kill()
                out, err = proc.communicate(timeout=10)
                pytest.fail(f"the writes never all happened\n{describe(proc, out, err)}")
            interrupted_at = time.monotonic()
            proc.send_signal(signal.SIGINT)
            try:
                out, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate(timeout=10)
                pytest.fail(f"still running 10s after Ctrl-C\n{describe(proc, out, err)}")
            took = time.monotonic() - interrupted_at
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            if terminal is not None:
                terminal.close()
                err = terminal.plain()
        explain = describe(proc, out, err)

        assert proc.returncode == 130, explain
        assert took < 5, f"{took:.1f}s from Ctrl-C to exit\n{explain}"
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, explain
        doc = valid_document(out)  # stdout is one JSON document, nothing else
        assert doc["exit_code"] == 130, explain
        reports = {d["domain"]: d for d in doc["domains"]}
        assert sorted(reports) == sorted(CTRL_C_DOMAINS), explain
        stored = zone_records(world, ZONE_A)
        for domain in CTRL_C_DOMAINS:
            report, name = reports[domain], domain.removesuffix("." + ZONE_A)
            assert report["result"] == "interrupted", (domain, report)
            assert report["exit_code"] == 130, (domain, report)
            assert "interrupted" in report["message"] and report["hint"], (domain, report)
            # what was done: the three record sets, as the zone holds them (and as the progress said)
            assert sorted(report["written"]) == sorted(
                [f"TXT {name}", f"CNAME {DKIM1}.{name}", f"CNAME {DKIM2}.{name}"]
            ), (domain, report)
            if terminal is not None:
                assert {(t, n) for d, t, n in wrote_lines(err) if d == domain} == {
                    tuple(w.split(" ", 1)) for w in report["written"]
                }
            assert [world.token_of(domain)] in stored[(name, "TXT")]["values"]
            for selector, target in ((DKIM1, DKIM1_TARGET), (DKIM2, DKIM2_TARGET)):
                assert stored[(f"{selector}.{name}", "CNAME")]["values"] == target
            # what was not: the verification types reported as started are exactly those the service
            # has pending, the others NotStarted; none Verified (30 s from deciding)
            states = world.states(domain)
            started = report["started"]
            assert set(started) == {k for k, s in states.items() if s != "NotStarted"}, (report, states)
            assert all(s != "Verified" for s in states.values()), states
            for kind, status in report_statuses(report).items():
                if kind in started:
                    assert status in ("VerificationRequested", "VerificationInProgress"), (domain, report)
                else:
                    assert status == "NotStarted", (domain, report)
        # other teams' values untouched
        assert stored[("@", "TXT")]["values"] == FOREIGN_TXT[(ZONE_A, "@")]


def report_statuses(report: dict[str, Any]) -> dict[str, str]:
    return {k: v["status"] for k, v in report["verification"].items()}


# ---- 3. stopped abruptly after the first write: the report still lists what was written --------------
def after_first_write(
    sb: Sandbox, config: Path, act: Callable[[subprocess.Popen], None], extra: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, str, str, float]:
    """Start the CLI, call `act(process)` as soon as the sandbox has answered a record-set write;
    (process, stdout, stderr, seconds from `act` to exit)."""
    watch = LogWatch(sb)
    proc = subprocess.Popen(
        [*command(sb, config), *extra],
        env=child_env(sb),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        until = time.monotonic() + 30
        while watch.count(PUT_RECORD_SET) < 1 and proc.poll() is None and time.monotonic() < until:
            time.sleep(0.005)
        if watch.count(PUT_RECORD_SET) < 1:
            proc.kill()
            out, err = proc.communicate(timeout=10)
            pytest.fail(f"no write happened\n{describe(proc, out, err)}")
        acted_at = time.monotonic()
        act(proc)
        out, err = proc.communicate(timeout=60)
        return proc, out, err, time.monotonic() - acted_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def send(*signals: signal.Signals) -> Callable[[subprocess.Popen], None]:
    def act(proc: subprocess.Popen) -> None:
        for sig in signals:
            proc.send_signal(sig)
            time.sleep(0.02)

    return act


def owned_record_sets(world: World, domain: str) -> set[str]:
    """The record sets of `domain` that acs-dns wrote, as the zone holds them: "TXT m1", "CNAME ..."."""
    stored = zone_records(world, ZONE_A)
    name = domain.removesuffix("." + ZONE_A)
    token = world.token_of(domain)
    found = set()
    if [token] in (stored.get((name, "TXT")) or {}).get("values", []):
        found.add(f"TXT {name}")
    for selector in (DKIM1, DKIM2):
        if (f"{selector}.{name}", "CNAME") in stored:
            found.add(f"CNAME {selector}.{name}")
    return found


def assert_reports_what_was_written(world: World, doc: dict[str, Any], explain: str) -> None:
    """Every record set the zone holds from this run is listed as written (or as the one write in flight,
    sent and not answered when the run stopped), and nothing is listed that the zone does not hold."""
    reports = {d["domain"]: d for d in doc["domains"]}
    assert sorted(reports) == sorted(CTRL_C_DOMAINS), explain
    time.sleep(0.5)  # a write the child sent before it exited lands now
    listed_anywhere = 0
    for domain in CTRL_C_DOMAINS:
        report = reports[domain]
        written = set(report["written"])
        in_flight = set(re.findall(r"the write of (\S+ \S+) was sent", report["message"]))
        owned = owned_record_sets(world, domain)
        assert written <= owned, (domain, report, owned)
        assert owned <= written | in_flight, (domain, report, owned)
        if not owned and not in_flight:
            assert report["result"] in ("interrupted", "verified"), (domain, report)
        listed_anywhere += len(written | in_flight)
        if report["result"] == "interrupted":
            assert report["hint"], report
    assert listed_anywhere >= 1, explain


@pytest.mark.parametrize(
    ("signals", "code"),
    [([signal.SIGINT, signal.SIGINT], 130), ([signal.SIGTERM], 143)],
    ids=["ctrl-c-twice", "sigterm"],
)
def test_stopped_after_the_first_write_reports_every_write(
    tmp_path: Path, signals: list[signal.Signals], code: int
) -> None:
    """Ctrl-C twice in quick succession (stop now), or SIGTERM (how CI cancels a job), right after the first
    record-set write: exit 130 / 143 within seconds, one JSON document that lists, for every domain, the
    record sets it wrote, however far it got."""
    config = write_config(tmp_path / "domains.toml", CTRL_C_DOMAINS)
    with Sandbox(SandboxOptions(latency_ms=60, verify_delay=30)) as sb, seed_ctrl_c(sb) as world:
        proc, out, err, took = after_first_write(sb, config, send(*signals))
        explain = describe(proc, out, err)

        assert proc.returncode == code, explain
        assert took < 5, f"{took:.1f}s from the signal to exit\n{explain}"
        assert "Traceback" not in err, explain
        doc = json.loads(out)
        assert doc["exit_code"] == code, explain
        assert_reports_what_was_written(world, doc, explain)


def test_arm_vanishing_after_a_write_is_not_a_usage_error(tmp_path: Path) -> None:
    """Exit 2 means "nothing was sent": Azure Resource Manager going away after a write is a timeout (7),
    and the report still lists what was written."""
    config = write_config(tmp_path / "domains.toml", CTRL_C_DOMAINS[:3])
    with Sandbox(SandboxOptions(latency_ms=60)) as sb, seed_ctrl_c(sb):

        def arm_goes_away(proc: subprocess.Popen) -> None:
            assert sb._arm is not None
            sb._arm.stop()  # the DNS server stays
            sb._arm = None

        proc, out, err, _ = after_first_write(sb, config, arm_goes_away, ("--timeout", "6"))
        written_before = [
            e for e in list(sb.app.log.entries) if e.route == PUT_RECORD_SET and 0 < e.status < 400
        ]
        explain = describe(proc, out, err)
        doc = json.loads(out)
        assert proc.returncode == doc["exit_code"] == 7, explain
        assert all(d["exit_code"] != 2 for d in doc["domains"]), explain
        listed = sum(len(d["written"]) for d in doc["domains"])
        assert listed >= 1 and len(written_before) >= 1, explain
