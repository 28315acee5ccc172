"""`acs-dns check` through the CLI against the sandbox: every finding code from a state built in the sandbox's
DNS (a zone hosted outside Azure DNS, served by the sandbox's registrar name servers, or an Azure DNS zone
written through the SDK), verification states from the sandbox's email service; no finding for a right
setup (apex and subdomain)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from acs_sandbox import Sandbox, SandboxOptions
from provisioner.finding import CODES
from tests.e2e_helpers import (
    DKIM1,
    DKIM1_TARGET,
    DKIM2,
    DKIM2_TARGET,
    DNS_RG,
    World,
    admin,
    assert_clean_exit,
    document,
    invoke,
    only_domain,
    token,
    unique_zone,
)

SPF = "v=spf1 include:spf.protection.outlook.com -all"
DMARC = "v=DMARC1; p=none;"
KINDS = ["Domain", "SPF", "DKIM", "DKIM2", "DMARC"]
NS = ["ns1.registrar-check.test", "ns2.registrar-check.test"]
RG, SERVICE = "rg-email", "check-email"

Records = dict[tuple[str, str], list[Any]]


class Place:
    """One CustomerManaged email domain whose DNS is an external zone of the sandbox (any DNS host)."""

    def __init__(self, sb: Sandbox, *, apex: bool = False, name_servers: list[str] | None = None) -> None:
        self.sb = sb
        self.sub = str(uuid.uuid4())
        self.zone = unique_zone("chk")
        self.domain = self.zone if apex else f"mail.{self.zone}"
        self.host = "@" if apex else "mail"
        self.token = f"tok-{token()}"
        self.name_servers = name_servers or NS

    def rel(self, name: str) -> str:
        """`name` under the domain, relative to the zone."""
        return name if self.host == "@" else f"{name}.{self.host}"

    def right(self) -> Records:
        return {
            (self.host, "TXT"): [
                f"ms-domain-verification={self.token}",
                SPF,
                "google-site-verification=keep",
            ],
            (self.rel(DKIM1), "CNAME"): [DKIM1_TARGET],
            (self.rel(DKIM2), "CNAME"): [DKIM2_TARGET],
        }

    def seed(
        self,
        records: Records,
        *,
        verified: list[str] | bool = True,
        dmarc: bool = False,
        delegated: bool = True,
    ) -> None:
        self.sb.seed(
            {
                "subscription": self.sub,
                "email_service": [
                    {
                        "name": SERVICE,
                        "resource_group": RG,
                        "domain": [{"name": self.domain, "token": self.token, "verified": verified}],
                    }
                ],
                "external_zone": [
                    {
                        "name": self.zone,
                        "name_servers": self.name_servers,
                        "delegated": delegated,
                        "record": [
                            {"name": n, "type": t, "values": v, "ttl": 300} for (n, t), v in records.items()
                        ],
                    }
                ],
            }
        )
        if dmarc:
            admin(
                self.sb,
                "PUT",
                f"subscriptions/{self.sub}/resourceGroups/{RG}/emailServices/{SERVICE}/domains/{self.domain}/dmarc",
                {"enabled": True},
            )

    def args(self, command: str = "check", *extra: str, dns_server: str | None = None) -> list[str]:
        return [
            command,
            "--auth",
            "sandbox",
            "--dns-server",
            dns_server or self.sb.dns_server,
            "--subscription",
            self.sub,
            "--resource-group",
            RG,
            "--email-service",
            SERVICE,
            "--domain",
            self.domain,
            *extra,
        ]

    def check(self, *extra: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        result = invoke(self.sb, self.args("check", "--output", "json", *extra, **kw))
        doc = document(result)
        assert doc["exit_code"] == result.exit_code
        assert_clean_exit(result, result.exit_code)
        return result.exit_code, only_domain(doc)


def codes(report: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(f["code"], f["kind"]) for f in report["findings"]]


def but(kind: str) -> list[str]:
    """Every type Verified except `kind`."""
    return [k for k in KINDS if k != kind]


# (code, kind, verified types, change to the right records)
Change = Callable[[Place, Records], None]


def _set(name: str, rtype: str, values: list[Any] | None) -> Change:
    """Set (None: remove) the record set at `name` under the domain."""

    def change(p: Place, r: Records) -> None:
        if values is None:
            r.pop((p.rel(name), rtype), None)
        else:
            r[(p.rel(name), rtype)] = values

    return change


TOKEN = "ms-domain-verification=TOKEN"  # the domain's own token


def domain_txt(*values: str) -> Change:
    """The TXT set at the domain name holds exactly `values`."""
    return lambda p, r: r.__setitem__((p.host, "TXT"), [v.replace("TOKEN", p.token) for v in values])


def token_at(name: Callable[[Place], str]) -> Change:
    """The token moved from the domain name to `name(place)`, the SPF left at the domain name."""
    return lambda p, r: (
        domain_txt(SPF)(p, r),
        r.__setitem__((name(p), "TXT"), [f"ms-domain-verification={p.token}"]),
    )


SPF_11 = (
    "v=spf1 "
    + " ".join(f"a:h{i}.lookups.test" for i in range(10))
    + " include:spf.protection.outlook.com -all"
)

RECORD_CASES: list[tuple[str, str | None, list[str] | bool, Change]] = [
    ("domain-txt-missing", "Domain", but("Domain"), domain_txt(SPF)),
    ("domain-txt-wrong-token", "Domain", but("Domain"), domain_txt(SPF, "ms-domain-verification=old-domain")),
    ("record-at-doubled-name", "Domain", but("Domain"), token_at(lambda p: f"mail.{p.zone}")),
    ("record-at-wrong-name", "Domain", but("Domain"), token_at(lambda p: "@")),
    ("value-quoted", "SPF", but("SPF"), domain_txt(TOKEN, f'"{SPF}"')),
    ("spf-missing", "SPF", but("SPF"), domain_txt(TOKEN)),
    ("spf-multiple", "SPF", but("SPF"), domain_txt(TOKEN, SPF, "v=spf1 mx -all")),
    ("spf-syntax-error", "SPF", but("SPF"), domain_txt(TOKEN, SPF.replace(" -all", " ipv4:10.0.0.1 -all"))),
    ("spf-include-missing", "SPF", but("SPF"), domain_txt(TOKEN, "v=spf1 mx -all")),
    ("spf-not-hardfail", "SPF", but("SPF"), domain_txt(TOKEN, SPF.replace("-all", "~all"))),
    ("spf-too-many-lookups", "SPF", but("SPF"), domain_txt(TOKEN, SPF_11)),
    ("dkim-missing", "DKIM", but("DKIM"), _set(DKIM1, "CNAME", None)),
    ("dkim-wrong-target", "DKIM", but("DKIM"), _set(DKIM1, "CNAME", ["selector1._domainkey.other.test"])),
    (
        "dkim-not-cname",
        "DKIM",
        but("DKIM"),
        lambda p, r: (_set(DKIM1, "CNAME", None)(p, r), _set(DKIM1, "TXT", ["v=DKIM1; p=MIIB"])(p, r)),
    ),
    ("dkim2-missing", "DKIM2", but("DKIM2"), _set(DKIM2, "CNAME", None)),
    ("dkim2-wrong-target", "DKIM2", but("DKIM2"), _set(DKIM2, "CNAME", [DKIM1_TARGET])),
    (
        "dkim2-not-cname",
        "DKIM2",
        but("DKIM2"),
        lambda p, r: (_set(DKIM2, "CNAME", None)(p, r), _set(DKIM2, "TXT", [DKIM2_TARGET])(p, r)),
    ),
    (
        "cname-at-domain",
        None,
        True,
        lambda p, r: (r.pop((p.host, "TXT")), r.__setitem__((p.host, "CNAME"), ["web.hosting.test"])),
    ),
    ("dmarc-multiple", None, True, _set("_dmarc", "TXT", [DMARC, "v=DMARC1; p=reject"])),
    ("dmarc-invalid", None, True, _set("_dmarc", "TXT", ["v=DMARC1; p=maybe"])),
    ("domain-txt-removed", "Domain", True, domain_txt(SPF)),
    ("spf-changed-after-verification", "SPF", True, domain_txt(TOKEN, SPF.replace("-all", "?all"))),
    ("dkim-changed-after-verification", "DKIM", True, _set(DKIM1, "CNAME", None)),
    ("dkim2-changed-after-verification", "DKIM2", True, _set(DKIM2, "CNAME", [DKIM1_TARGET])),
    ("verification-not-started", "SPF", but("SPF"), lambda p, r: None),
]
DMARC_CASES: list[tuple[str, str | None, list[str] | bool, Change]] = [
    ("dmarc-missing", "DMARC", but("DMARC"), lambda p, r: None),
    ("dmarc-changed-after-verification", "DMARC", True, lambda p, r: None),
]
OTHER_TESTS = {  # codes produced by the dedicated tests below
    "resolver-unreachable",
    "nameserver-unreachable",
    "zone-not-delegated",
    "propagation-partial",
    "resolver-cache-stale",
    "verification-failed-but-dns-ok",
    "verification-in-progress",
}


def test_every_code_is_built_in_the_sandbox_by_a_test_here() -> None:
    covered = {c[0] for c in RECORD_CASES + DMARC_CASES} | OTHER_TESTS
    assert covered == set(CODES)


@pytest.mark.parametrize(
    ("code", "kind", "verified", "change"), RECORD_CASES, ids=[c[0] for c in RECORD_CASES]
)
def test_check_names_the_code_of_each_state(
    sandbox: Sandbox, code: str, kind: str | None, verified: list[str] | bool, change: Change
) -> None:
    place = Place(sandbox)
    records = place.right()
    change(place, records)
    place.seed(records, verified=verified)
    exit_code, report = place.check()
    assert codes(report) == [(code, kind)], report["findings"]
    severity = CODES[code][0].value
    assert exit_code == (6 if severity == "error" else 0)
    assert report["result"] == ("problems" if severity == "error" else "ok")
    finding = report["findings"][0]
    assert finding["severity"] == severity
    if severity == "error":  # every error says what to do: records relative to the zone and in full
        record_steps = [s for s in finding["fix"] if s["action"]]
        assert record_steps or code == "spf-too-many-lookups", finding
        for step in record_steps:
            assert step["fqdn"].endswith(place.zone), step
            if step["action"] != "delete":  # what to write: the host a provider's form asks for
                assert step["fqdn"] in (place.zone, f"{step['host']}.{place.zone}"), step


@pytest.mark.parametrize(("code", "kind", "verified", "change"), DMARC_CASES, ids=[c[0] for c in DMARC_CASES])
def test_dmarc_the_service_expects(
    sandbox: Sandbox, code: str, kind: str | None, verified: list[str] | bool, change: Change
) -> None:
    place = Place(sandbox)
    place.seed(place.right(), verified=verified, dmarc=True)  # the service expects DMARC; none published
    exit_code, report = place.check()
    assert codes(report) == [(code, kind)]
    assert exit_code == 6
    assert report["verification"]["DMARC"]["status"] == ("Verified" if verified is True else "NotStarted")


@pytest.mark.parametrize("apex", [False, True], ids=["subdomain", "apex"])
def test_a_right_setup_at_an_external_dns_host_has_no_finding(sandbox: Sandbox, apex: bool) -> None:
    place = Place(sandbox, apex=apex)
    place.seed({**place.right(), (place.rel("_dmarc"), "TXT"): [DMARC]}, verified=True, dmarc=True)
    exit_code, report = place.check()
    assert (exit_code, report["findings"], report["result"]) == (0, [], "ok")
    assert report["zone"] == {"name": place.zone, "delegation": "delegated", "name_servers": NS}


@pytest.mark.parametrize("apex", [False, True], ids=["subdomain", "apex"])
def test_a_right_setup_in_azure_dns_has_no_finding(sandbox: Sandbox, apex: bool) -> None:
    """Records written through the SDK into an Azure DNS zone; check given only the email domain."""
    with World(sandbox) as world:
        zone = unique_zone("chkaz")
        domain = zone if apex else f"mail.{zone}"
        host = "@" if apex else "mail"
        world.email_service()
        world.email_domain(domain)
        world.zone(zone)
        world.txt(zone, host, [world.token_of(domain), SPF])
        for selector, target in ((DKIM1, DKIM1_TARGET), (DKIM2, DKIM2_TARGET)):
            world.cname(zone, selector if apex else f"{selector}.mail", target)
        for kind in ("Domain", "SPF", "DKIM", "DKIM2"):
            world.verify(domain, kind)
        assert set(world.states(domain).values()) == {"Verified"}
        result = world.cli(world.args(domain, command="check"))
    assert_clean_exit(result, 0)
    report = only_domain(document(result))
    assert (report["findings"], report["zone"]["name"]) == ([], zone)


# ---- zone-level and transient states -------------------------------------------------------------------
def test_a_resolver_that_does_not_answer(sandbox: Sandbox) -> None:
    """Within --dns-timeout per query (the default, 2 s, is for networks, not for a test)."""
    place = Place(sandbox)
    place.seed(place.right())
    started = time.monotonic()
    exit_code, report = place.check("--dns-timeout", "0.3", dns_server=sandbox.blackhole_dns_server)
    assert (exit_code, codes(report)) == (6, [("resolver-unreachable", None)])
    assert "--dns-timeout" in report["findings"][0]["fix"][0]["text"]
    assert time.monotonic() - started < 3  # two rounds of 0.3 s (probe, then lookup); of 2 s: 4 s


def test_a_name_server_that_does_not_answer(sandbox: Sandbox) -> None:
    servers = [f"ns1.dead-{token()}.test", f"ns2.dead-{token()}.test"]
    place = Place(sandbox, name_servers=servers)
    place.seed(place.right())
    sandbox.configure_name_server(servers[1], answering=False)
    exit_code, report = place.check("--dns-timeout", "0.5")
    assert (exit_code, codes(report)) == (0, [("nameserver-unreachable", None)])
    assert servers[1] in report["findings"][0]["found"][0]


def test_a_zone_its_registrar_does_not_delegate(sandbox: Sandbox) -> None:
    place = Place(sandbox)
    place.seed(place.right(), delegated=False)
    exit_code, report = place.check()
    assert (exit_code, codes(report)) == (6, [("zone-not-delegated", None)])


def test_an_azure_zone_not_delegated_to_its_name_servers(sandbox: Sandbox) -> None:
    """With --zone and --zone-resource-group the Azure zone's name servers are the expected ones."""
    with World(sandbox) as world:
        zone = unique_zone("chkdel")
        world.email_service()
        world.email_domain(f"mail.{zone}")
        world.zone(zone)
        world.set_delegated(zone, False)
        args = world.args(f"mail.{zone}", "--zone", zone, "--zone-resource-group", DNS_RG, command="check")
        result = world.cli(args)
        name_servers = world.name_servers(zone)
    assert_clean_exit(result, 6)
    finding = only_domain(document(result))["findings"][0]
    assert finding["code"] == "zone-not-delegated"
    assert finding["expected"] == ", ".join(n.rstrip(".") for n in name_servers)


def test_a_name_server_that_has_not_caught_up(sandbox: Sandbox) -> None:
    servers = [f"ns1.stale-{token()}.test", f"ns2.stale-{token()}.test"]
    place = Place(sandbox, name_servers=servers)
    records = place.right()
    place.seed({**records, (place.host, "TXT"): [f"ms-domain-verification={place.token}"]})
    sandbox.configure_name_server(servers[1], stale=True)  # never sees a later change
    sandbox.set_external_record(place.zone, place.host, "TXT", records[(place.host, "TXT")], 300)
    exit_code, report = place.check()
    assert (exit_code, codes(report)) == (0, [("propagation-partial", "SPF")])
    assert report["findings"][0]["found"] == [servers[1]]


def test_a_resolver_still_caching_the_old_answer() -> None:
    with Sandbox(SandboxOptions()) as sb:
        sb.configure_resolver(cache=True)
        place = Place(sb)
        records = place.right()
        place.seed({**records, (place.host, "TXT"): [f"ms-domain-verification={place.token}"]})
        assert codes(place.check()[1]) == [
            ("spf-changed-after-verification", "SPF")
        ]  # the resolver caches this answer
        sb.set_external_record(place.zone, place.host, "TXT", records[(place.host, "TXT")], 300)
        exit_code, report = place.check()
    assert (exit_code, codes(report)) == (0, [("resolver-cache-stale", "SPF")])
    assert "more seconds" in report["findings"][0]["message"]


def test_verification_that_failed_while_a_record_was_wrong(sandbox: Sandbox) -> None:
    place = Place(sandbox)
    records = place.right()
    place.seed({k: v for k, v in records.items() if k[0] != place.rel(DKIM1)}, verified=but("DKIM"))
    result = invoke(sandbox, place.args("verify", "--force", "--poll-interval", "0.05", "--output", "json"))
    assert_clean_exit(result, 6)
    assert only_domain(document(result))["verification"]["DKIM"]["status"] == "VerificationFailed"
    sandbox.set_external_record(place.zone, place.rel(DKIM1), "CNAME", [DKIM1_TARGET], 300)
    exit_code, report = place.check()
    assert (exit_code, codes(report)) == (0, [("verification-failed-but-dns-ok", "DKIM")])


def test_verification_still_running() -> None:
    with Sandbox(SandboxOptions(verify_delay=60)) as sb:
        place = Place(sb)
        place.seed(place.right(), verified=but("DKIM2"))
        started = invoke(sb, place.args("verify", "--no-wait", "--output", "json"))
        assert_clean_exit(started, 0)
        assert only_domain(document(started))["started"] == ["DKIM2"]
        exit_code, report = place.check()
    assert (exit_code, codes(report)) == (0, [("verification-in-progress", "DKIM2")])


# ---- output ------------------------------------------------------------------------------------------
def test_text_output_lists_errors_first_each_with_its_fix(sandbox: Sandbox) -> None:
    place = Place(sandbox)
    records = place.right()
    records[(place.host, "TXT")] = [f"ms-domain-verification={place.token}", SPF.replace("-all", "~all")]
    records.pop((place.rel(DKIM2), "CNAME"))
    place.seed(records, verified=["Domain"])
    result = invoke(sandbox, place.args("check"))
    assert_clean_exit(result, 6)
    lines = result.stdout.splitlines()
    rows = [line.split()[:2] for line in lines if line.startswith(("  error", "  warning", "  info"))]
    assert rows == [
        ["error", "spf-not-hardfail"],
        ["error", "dkim2-missing"],
        ["warning", "verification-not-started"],
    ]
    fixes = [line.strip() for line in lines if line.strip().startswith("fix: ")]
    assert f"fix: change TXT host mail ({place.domain}): {SPF}" in fixes
    assert f"fix: create CNAME host {DKIM2}.mail ({DKIM2}.{place.domain}): {DKIM2_TARGET}" in fixes


def test_a_missing_email_domain_is_exit_4_and_json_says_so(sandbox: Sandbox) -> None:
    place = Place(sandbox)
    place.seed(place.right())
    place.domain = f"other.{place.zone}"
    exit_code, report = place.check()
    assert exit_code == 4
    assert (report["result"], report["findings"]) == ("error", [])
    assert "other." in report["message"]


@pytest.fixture
def many(sandbox: Sandbox) -> Iterator[tuple[str, list[Place]]]:
    """Three domains of one email service (one listing), one of them with a wrong SPF."""
    places = [Place(sandbox) for _ in range(3)]
    for p in places[1:]:
        p.sub = places[0].sub
    world: dict[str, Any] = {"subscription": places[0].sub, "email_service": [], "external_zone": []}
    domains = []
    for i, p in enumerate(places):
        records = p.right()
        if i == 1:
            records[(p.host, "TXT")] = [f"ms-domain-verification={p.token}", SPF.replace("-all", "~all")]
        domains.append({"name": p.domain, "token": p.token, "verified": i != 1})
        world["external_zone"].append(
            {
                "name": p.zone,
                "name_servers": NS,
                "record": [{"name": n, "type": t, "values": v} for (n, t), v in records.items()],
            }
        )
    world["email_service"].append({"name": SERVICE, "resource_group": RG, "domain": domains})
    sandbox.seed(world)
    yield places[0].sub, places


def test_many_domains_one_summary(sandbox: Sandbox, many: tuple[str, list[Place]], tmp_path: Any) -> None:
    sub, places = many
    config = tmp_path / "domains.toml"
    entries = "".join(f'[[domain]]\nname = "{p.domain}"\n' for p in places)
    config.write_text(
        f'[defaults]\nsubscription = "{sub}"\nresource_group = "{RG}"\nemail_service = "{SERVICE}"\n{entries}'
    )
    base = ["check", "--auth", "sandbox", "--dns-server", sandbox.dns_server, "--config", str(config)]
    result = invoke(sandbox, base)
    assert_clean_exit(result, 6)
    summary = result.stdout.split("DOMAIN", 1)[1].splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in summary[1:4]}
    assert rows[places[0].domain] == ["ok", "0", "0"]
    assert rows[places[1].domain][:2] == ["problems", "1"]
    assert "3 domain(s): 2 ok, 1 problems; exit 6" in result.stdout
    doc = document(invoke(sandbox, [*base, "--output", "json"]))
    assert [d["result"] for d in doc["domains"]] == ["ok", "problems", "ok"]


def test_check_markdown_is_the_ci_table_with_the_findings(sandbox: Sandbox) -> None:
    """`check --output markdown` prints the same table as plan/provision, the finding codes in the row."""
    place = Place(sandbox)
    records = place.right()
    records[(place.host, "TXT")] = [f"ms-domain-verification={place.token}", SPF.replace("-all", "~all")]
    place.seed(records)
    result = invoke(sandbox, place.args("check", "--output", "markdown"))
    assert_clean_exit(result, 6)
    assert result.stdout.startswith("### acs-dns check\n")
    row = next(line for line in result.stdout.splitlines() if line.startswith(f"| {place.domain} |"))
    assert "problems (exit 6)" in row
    assert "spf-changed-after-verification (error)" in row  # SPF was Verified, then softened to ~all
