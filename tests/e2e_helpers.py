"""Shared helpers for the end-to-end CLI tests: seed the sandbox with the real SDK clients, run
`acs-dns` in-process through typer's CliRunner, read the zone and the sandbox's counters back.

Every test gets its own subscription id and uniquely named zones, so tests can share the session
sandbox without seeing each other's zones (zone discovery lists the whole subscription; the sandbox
DNS server serves every public zone of every subscription, hence unique zone names as well).
"""

from __future__ import annotations

import functools
import json
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import requests
import typer
import typer.main
import typer.testing
from azure.mgmt.communication import CommunicationServiceManagementClient
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.dns import models as dnsm
from typer.testing import CliRunner, Result

from acs_sandbox import Sandbox
from provisioner.azure.credentials import SandboxCredential
from provisioner.azure.pacing import PacerLimits
from provisioner.cli import app
from provisioner.model import OWNER_METADATA_KEY

EMAIL_RG = "rg-email"
DNS_RG = "rg-dns"
EMAIL_SERVICE = "contoso-email"
DKIM1 = "selector1-azurecomm-prod-net._domainkey"
DKIM2 = "selector2-azurecomm-prod-net._domainkey"
DKIM1_TARGET = "selector1-azurecomm-prod-net._domainkey.azurecomm.net"
DKIM2_TARGET = "selector2-azurecomm-prod-net._domainkey.azurecomm.net"
ACS_INCLUDE = "include:spf.protection.outlook.com"
KINDS = ["Domain", "SPF", "DKIM", "DKIM2"]
UNPACED = PacerLimits(read_burst=1e6, reads_per_second=1e6, write_burst=1e6, writes_per_second=1e6)
"""Client-side pacer limits for runs against a sandbox that does not throttle: no wait for ARM's budgets."""


def token(n: int = 8) -> str:
    return uuid.uuid4().hex[:n]


def unique_zone(stem: str = "z") -> str:
    """A zone name no other test uses (one label under a made-up top-level domain)."""
    return f"{stem}{token()}.example"


# ---- the world one test works in -------------------------------------------------------------------
class World:
    """One test's corner of a sandbox: its own subscription and real SDK clients for it."""

    def __init__(self, sb: Sandbox, subscription: str | None = None) -> None:
        self.sb = sb
        self.sub = subscription or str(uuid.uuid4())
        self.dns = DnsManagementClient(
            SandboxCredential(), self.sub, base_url=sb.arm_endpoint, connection_verify=sb.ca_bundle
        )
        self.comm = CommunicationServiceManagementClient(
            SandboxCredential(),
            self.sub,
            base_url=sb.arm_endpoint,
            connection_verify=sb.ca_bundle,
            polling_interval=0.01,
        )

    def close(self) -> None:
        self.dns.close()
        self.comm.close()

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- Communication ------------------------------------------------------------------------------
    # Email services and domains are seeded straight into the sandbox (its public seeding API, no ARM
    # request): they are the setup of tests whose subject is what acs-dns does next; test_communication
    # creates them through the SDK. Seeding a service again keeps its domains.
    def email_service(self, rg: str = EMAIL_RG, name: str = EMAIL_SERVICE) -> None:
        self.email_domains([], rg=rg, service=name)

    def email_domain(
        self,
        domain: str,
        management: str = "CustomerManaged",
        rg: str = EMAIL_RG,
        service: str = EMAIL_SERVICE,
    ) -> None:
        self.email_domains([domain], rg=rg, service=service, management=management)

    def email_domains(
        self,
        domains: list[str],
        rg: str = EMAIL_RG,
        service: str = EMAIL_SERVICE,
        management: str = "CustomerManaged",
    ) -> None:
        """An email service (United States) with these domains."""
        entry = {"subscription": self.sub, "resource_group": rg, "name": service}
        domain = [{"name": d, "management": management} for d in domains]
        self.sb.seed({"email_service": [{**entry, "domain": domain}]})

    def get_domain(self, domain: str, rg: str = EMAIL_RG, service: str = EMAIL_SERVICE) -> dict[str, Any]:
        """The domain's `properties` as the service returns them (wire keys)."""
        return self.comm.domains.get(rg, service, domain).as_dict()["properties"]

    def token_of(self, domain: str) -> str:
        return self.get_domain(domain)["verificationRecords"]["Domain"]["value"]

    def states(self, domain: str) -> dict[str, str]:
        states = self.get_domain(domain)["verificationStates"]
        return {kind: states[kind]["status"] for kind in KINDS}

    def verify(self, domain: str, kind: str) -> None:
        """Start one verification type directly through the SDK (as the portal would)."""
        self.comm.domains.begin_initiate_verification(
            EMAIL_RG, EMAIL_SERVICE, domain, {"verificationType": kind}
        ).result()

    def enable_dmarc(self, domain: str) -> None:
        admin(
            self.sb,
            "PUT",
            f"subscriptions/{self.sub}/resourceGroups/{EMAIL_RG}/emailServices/{EMAIL_SERVICE}"
            f"/domains/{domain}/dmarc",
            {"enabled": True},
        )

    # ---- DNS ----------------------------------------------------------------------------------------
    def zone(self, name: str, rg: str = DNS_RG, zone_type: str | None = None) -> dnsm.Zone:
        body = dnsm.Zone(location="global", zone_type=zone_type) if zone_type else {"location": "global"}
        return self.dns.zones.create_or_update(rg, name, body)

    def name_servers(self, zone: str, rg: str = DNS_RG) -> list[str]:
        return list(self.dns.zones.get(rg, zone).name_servers)

    def delegate(self, parent: str, child: str, rg: str = DNS_RG, child_rg: str = DNS_RG) -> None:
        """An NS record set in `parent` naming `child`'s Azure name servers (the child becomes visible)."""
        relative = child[: -len(parent) - 1]
        servers = self.name_servers(child, child_rg)
        self.dns.record_sets.create_or_update(
            rg,
            parent,
            relative,
            "NS",
            dnsm.RecordSet(ttl=3600, ns_records=[dnsm.NsRecord(nsdname=s) for s in servers]),
        )

    def set_delegated(self, zone: str, delegated: bool, rg: str = DNS_RG) -> None:
        admin(
            self.sb,
            "PUT",
            f"subscriptions/{self.sub}/resourceGroups/{rg}/dnsZones/{zone}/delegation",
            {"delegated": delegated},
        )

    def txt(
        self,
        zone: str,
        name: str,
        records: Sequence[str | Sequence[str]],
        rg: str = DNS_RG,
        ttl: int = 3600,
        metadata: dict[str, str] | None = None,
    ) -> None:
        """A TXT record set; a record given as a list of strings is stored as those strings."""
        values = [[r] if isinstance(r, str) else list(r) for r in records]
        self.dns.record_sets.create_or_update(
            rg,
            zone,
            name,
            "TXT",
            dnsm.RecordSet(ttl=ttl, metadata=metadata, txt_records=[dnsm.TxtRecord(value=v) for v in values]),
        )

    def cname(
        self, zone: str, name: str, target: str, rg: str = DNS_RG, metadata: dict[str, str] | None = None
    ) -> None:
        self.dns.record_sets.create_or_update(
            rg,
            zone,
            name,
            "CNAME",
            dnsm.RecordSet(ttl=3600, cname_record=dnsm.CnameRecord(cname=target), metadata=metadata),
        )

    def mx(self, zone: str, name: str, exchange: str, rg: str = DNS_RG) -> None:
        self.dns.record_sets.create_or_update(
            rg,
            zone,
            name,
            "MX",
            dnsm.RecordSet(ttl=3600, mx_records=[dnsm.MxRecord(preference=10, exchange=exchange)]),
        )

    def a(self, zone: str, name: str, address: str, rg: str = DNS_RG) -> None:
        self.dns.record_sets.create_or_update(
            rg, zone, name, "A", dnsm.RecordSet(ttl=3600, a_records=[dnsm.ARecord(ipv4_address=address)])
        )

    def delete(self, zone: str, name: str, rtype: str, rg: str = DNS_RG) -> None:
        self.dns.record_sets.delete(rg, zone, name, rtype)

    def records(self, zone: str, rg: str = DNS_RG) -> dict[tuple[str, str], dict[str, Any]]:
        """Every record set of the zone: (lower-case name, type) -> ttl, values, metadata, etag."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for rs in self.dns.record_sets.list_all_by_dns_zone(rg, zone):
            rtype = rs.type.rsplit("/", 1)[-1].upper()
            if rtype == "TXT":
                values: Any = [list(t.value) for t in rs.txt_records]
            elif rtype == "CNAME":
                values = rs.cname_record.cname
            elif rtype == "MX":
                values = [(m.preference, m.exchange) for m in rs.mx_records]
            elif rtype == "NS":
                values = sorted(n.nsdname for n in rs.ns_records)
            elif rtype == "A":
                values = [a.ipv4_address for a in rs.a_records]
            else:
                values = None
            out[(rs.name.lower(), rtype)] = {
                "ttl": rs.ttl,
                "values": values,
                "metadata": dict(rs.metadata or {}),
                "etag": rs.etag,
            }
        return out

    def txt_values(self, zone: str, name: str, rg: str = DNS_RG) -> list[list[str]]:
        return self.records(zone, rg)[(name.lower(), "TXT")]["values"]

    # ---- running the CLI ---------------------------------------------------------------------------
    def common(
        self, command: str = "provision", *, json_output: bool = True, propagation_timeout: float = 3
    ) -> list[str]:
        """Everything but the target: sandbox auth, the sandbox DNS server, fast polling, output."""
        args = [command, "--auth", "sandbox", "--dns-server", self.sb.dns_server]
        if command == "provision":
            args += ["--poll-interval", "0.05", "--propagation-timeout", str(propagation_timeout)]
            args += ["--timeout", "20"]
        if json_output:
            args += ["--output", "json"]
        return args

    def target(self, domain: str, rg: str = EMAIL_RG, service: str = EMAIL_SERVICE) -> list[str]:
        return [
            "--subscription",
            self.sub,
            "--resource-group",
            rg,
            "--email-service",
            service,
            "--domain",
            domain,
        ]

    def args(self, domain: str, *extra: str, command: str = "provision", **kw: Any) -> list[str]:
        return [*self.common(command, **kw), *self.target(domain), *extra]

    def cli(self, args: Sequence[str]) -> Result:
        return invoke(self.sb, args)

    def provision(self, domain: str, *extra: str, **kw: Any) -> tuple[Result, dict[str, Any]]:
        result = self.cli(self.args(domain, *extra, **kw))
        return result, document(result)

    def plan(self, domain: str, *extra: str, **kw: Any) -> tuple[Result, dict[str, Any]]:
        result = self.cli(self.args(domain, *extra, command="plan", **kw))
        return result, document(result)


# ---- CLI ------------------------------------------------------------------------------------------
# typer's CliRunner converts the Typer app into its click command on every invoke, reading every command's
# signature again (~25 ms, about a tenth of the suite's CPU). A process runs `acs-dns` once, so the product
# converts once; tests share one conversion per app. The click command is not changed by running it.
@functools.cache
def click_command(typer_app: typer.Typer) -> Any:
    return typer.main.get_command(typer_app)


typer.testing._get_command = click_command  # type: ignore[attr-defined]


def invoke(sb: Sandbox | None, args: Sequence[str], env: dict[str, str] | None = None) -> Result:
    """Run `acs-dns ARGS` in-process; the sandbox's ARM endpoint and CA bundle come from the environment,
    as a user would set them. Whatever `--output json` prints is checked against the published schema."""
    full_env = {}
    if sb is not None:
        full_env = {"ACS_DNS_ARM_ENDPOINT": sb.arm_endpoint, "REQUESTS_CA_BUNDLE": sb.ca_bundle}
    full_env.update(env or {})
    result = CliRunner().invoke(app, list(args), env=full_env)
    if json_requested(args) and result.stdout.strip():
        document(result)
    return result


def json_requested(args: Sequence[str]) -> bool:
    pairs = zip(args, [*args[1:], ""], strict=True)
    return any(
        (a in ("--output", "-o") and b == "json") or a in ("--output=json", "-ojson") for a, b in pairs
    )


VALIDATED = [0]  # JSON documents checked against the schema in this test session (reported by conftest)


def valid_document(text: str) -> dict[str, Any]:
    """`text` parsed as the one JSON document `--output json` prints, validated against `acs-dns schema`."""
    doc = json.loads(text)
    schema_validator().validate(doc)
    VALIDATED[0] += 1
    return doc


@functools.cache
def schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(invoke(None, ["schema"]).stdout)  # as a user gets it
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def document(result: Result) -> dict[str, Any]:
    """The one JSON document on stdout, valid by the schema (fails the test with everything printed if
    it is not one)."""
    try:
        return valid_document(result.stdout)
    except (json.JSONDecodeError, jsonschema.ValidationError) as exc:
        raise AssertionError(
            f"stdout is not one valid JSON document ({exc}); exit {result.exit_code}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\nexception: {result.exception!r}"
        ) from None


def explain(result: Result) -> str:
    return f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def assert_clean_exit(result: Result, code: int) -> None:
    """Exit `code`, through typer.Exit / SystemExit only, and no traceback anywhere in the output."""
    assert result.exit_code == code, explain(result)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{result.exception!r}\n{explain(result)}"
    )
    assert "Traceback" not in result.output, explain(result)


def only_domain(doc: dict[str, Any]) -> dict[str, Any]:
    assert len(doc["domains"]) == 1, doc
    return doc["domains"][0]


def changes_by_name(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["name"], c["type"]): c for c in report["changes"]}


def owner_marked(record: dict[str, Any], domain: str) -> bool:
    return record["metadata"].get(OWNER_METADATA_KEY) == domain


def two_domains(w: World, tmp_path: Path) -> tuple[Path, str, str]:
    """A config of two domains in one zone: `mail.` provisions cleanly, `news.` is refused (its SPF ends in
    ~all and --spf-hardfail is not given)."""
    zone = unique_zone("ci")
    w.email_service()
    w.zone(zone)
    good, bad = f"mail.{zone}", f"news.{zone}"
    w.email_domain(good)
    w.email_domain(bad)
    w.txt(zone, "news", ["v=spf1 include:_spf.newsletter.example ~all"])
    config = tmp_path / "domains.toml"
    config.write_text(
        "[defaults]\n"
        f'subscription = "{w.sub}"\nresource_group = "{EMAIL_RG}"\nemail_service = "{EMAIL_SERVICE}"\n'
        f'[[domain]]\nname = "{good}"\n[[domain]]\nname = "{bad}"\nzone = "{zone}"\n'
    )
    return config, good, bad


# ---- the sandbox's own (non-ARM) paths ------------------------------------------------------------
_ADMIN_SESSIONS: weakref.WeakKeyDictionary[Sandbox, requests.Session] = weakref.WeakKeyDictionary()


def admin_session(sb: Sandbox) -> requests.Session:
    """One HTTP session per sandbox for its `/_sandbox/...` paths: a connection kept open, where a new one
    per call cost a TLS handshake on each side (the generated-command test reads the counters twice per
    case)."""
    session = _ADMIN_SESSIONS.get(sb)
    if session is None:
        session = _ADMIN_SESSIONS[sb] = requests.Session()
        session.verify = sb.ca_bundle
    return session


def admin(sb: Sandbox, method: str, path: str, body: Any = None) -> requests.Response:
    response = admin_session(sb).request(method, f"{sb.arm_endpoint}/_sandbox/{path}", json=body, timeout=10)
    assert response.status_code < 300, (response.status_code, response.text)
    return response


def reset_counters(sb: Sandbox) -> None:
    admin(sb, "POST", "reset")


def counters(sb: Sandbox) -> dict[str, Any]:
    return admin(sb, "GET", "counters").json()


@dataclass(frozen=True)
class Seeded:
    """What `seed_standard` created: the names a test asserts on."""

    zone: str
    domain: str
    relative: str  # the domain's name relative to the zone ("@" at the apex)


def dkim_name(kind_name: str, relative: str) -> str:
    return kind_name if relative == "@" else f"{kind_name}.{relative}"


def seed_standard(world: World, *, apex: bool = False, sub: str = "mail", zone: str | None = None) -> Seeded:
    """An email service with a CustomerManaged domain (`sub`.zone, or the zone itself when `apex`), and its
    zone already holding other teams' records: a TXT set at the domain's name (one record of two strings,
    its own TTL and metadata), an MX at the apex and a TXT elsewhere."""
    zone = zone or unique_zone()
    domain = zone if apex else f"{sub}.{zone}"
    relative = "@" if apex else sub
    # seeded straight into the sandbox (its public seeding API, the same rules as a PUT): the setup of
    # many tests, whose subject is what acs-dns does next, not these creates (test_communication and
    # test_zones send those through the SDK)
    world.email_domain(domain)
    records = [
        {
            "name": relative,
            "type": "TXT",
            "values": FOREIGN_TXT,
            "ttl": FOREIGN_TTL,
            "metadata": FOREIGN_METADATA,
        },
        {"name": "@", "type": "MX", "values": [f"10 mx1.{zone}"]},
        {"name": "other", "type": "TXT", "values": ["some-other-team=keep-me"]},
    ]
    world.sb.seed(
        {"zone": [{"subscription": world.sub, "resource_group": DNS_RG, "name": zone, "record": records}]}
    )
    return Seeded(zone, domain, relative)


FOREIGN_TTL = 300
FOREIGN_METADATA = {"owner": "web-team"}
FOREIGN_TXT: list[str | list[str]] = [
    "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ",
    ["first string of a two-string record; ", "  the second, with spaces kept  "],
]
