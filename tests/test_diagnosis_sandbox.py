"""Each record-level finding from a state built in the sandbox's DNS (zones and records written through the real
azure-mgmt-dns SDK), read back by the DNS adapter: the states the `check` command's tests will reuse."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from acs_sandbox import Sandbox
from provisioner.dnscheck import parse_dns_server
from provisioner.dnslookup import DnsLookup
from provisioner.findings import Severity, diagnose
from provisioner.model import VerificationKind
from provisioner.verification import KindState
from tests.e2e_helpers import DKIM1, DKIM2, DNS_RG, World, unique_zone
from tests.test_dnslookup import SPF, TOKEN, expected, publish

K = VerificationKind
DMARC = "v=DMARC1; p=none"


def pending(kind: VerificationKind | None) -> dict[VerificationKind, KindState]:
    return {k: KindState("NotStarted" if k is kind else "Verified") for k in K}


VERIFIED = pending(None)

# (code, kind, states, change applied to a right setup of mail.<zone>)
Change = Callable[[World, str], None]
CASES: list[tuple[str, VerificationKind | None, dict[VerificationKind, KindState], Change]] = [
    ("domain-txt-missing", K.DOMAIN, pending(K.DOMAIN), lambda w, z: w.txt(z, "mail", [SPF])),
    (
        "domain-txt-wrong-token",
        K.DOMAIN,
        pending(K.DOMAIN),
        lambda w, z: w.txt(z, "mail", [SPF, "ms-domain-verification=from-an-old-domain"]),
    ),
    (
        "record-at-doubled-name",
        K.DOMAIN,
        pending(K.DOMAIN),
        lambda w, z: (w.txt(z, "mail", [SPF]), w.txt(z, f"mail.{z}", [TOKEN])),
    ),
    (
        "record-at-wrong-name",
        K.DOMAIN,
        pending(K.DOMAIN),
        lambda w, z: (w.txt(z, "mail", [SPF]), w.txt(z, "@", [TOKEN])),
    ),
    ("value-quoted", K.SPF, pending(K.SPF), lambda w, z: w.txt(z, "mail", [TOKEN, f'"{SPF}"'])),
    ("spf-missing", K.SPF, pending(K.SPF), lambda w, z: w.txt(z, "mail", [TOKEN])),
    ("spf-multiple", K.SPF, pending(K.SPF), lambda w, z: w.txt(z, "mail", [TOKEN, SPF, "v=spf1 mx -all"])),
    ("spf-include-missing", K.SPF, pending(K.SPF), lambda w, z: w.txt(z, "mail", [TOKEN, "v=spf1 mx -all"])),
    (
        "spf-not-hardfail",
        K.SPF,
        pending(K.SPF),
        lambda w, z: w.txt(z, "mail", [TOKEN, SPF.replace("-all", "~all")]),
    ),
    (
        "spf-syntax-error",
        K.SPF,
        pending(K.SPF),
        lambda w, z: w.txt(z, "mail", [TOKEN, SPF.replace(" -all", " ipv4:10.0.0.1 -all")]),
    ),
    ("dkim-missing", K.DKIM, pending(K.DKIM), lambda w, z: w.delete(z, f"{DKIM1}.mail", "CNAME")),
    (
        "dkim-wrong-target",
        K.DKIM,
        pending(K.DKIM),
        lambda w, z: w.cname(z, f"{DKIM1}.mail", "selector1._domainkey.other.example"),
    ),
    (
        "dkim-not-cname",
        K.DKIM,
        pending(K.DKIM),
        lambda w, z: (w.delete(z, f"{DKIM1}.mail", "CNAME"), w.txt(z, f"{DKIM1}.mail", ["v=DKIM1; p=MIIB"])),
    ),
    ("dkim2-missing", K.DKIM2, pending(K.DKIM2), lambda w, z: w.delete(z, f"{DKIM2}.mail", "CNAME")),
    (
        "dkim2-wrong-target",
        K.DKIM2,
        pending(K.DKIM2),
        lambda w, z: w.cname(z, f"{DKIM2}.mail", f"{DKIM1}.azurecomm.net"),
    ),
    (
        "dkim2-not-cname",
        K.DKIM2,
        pending(K.DKIM2),
        lambda w, z: (
            w.delete(z, f"{DKIM2}.mail", "CNAME"),
            w.txt(z, f"{DKIM2}.mail", [f"{DKIM2}.azurecomm.net"]),
        ),
    ),
    (
        "cname-at-domain",
        None,
        VERIFIED,
        lambda w, z: (w.delete(z, "mail", "TXT"), w.cname(z, "mail", "web.hosting.example")),
    ),
    (
        "dmarc-multiple",
        None,
        VERIFIED,
        lambda w, z: w.txt(z, "_dmarc.mail", [DMARC, "v=DMARC1; p=reject"]),
    ),
    ("dmarc-invalid", None, VERIFIED, lambda w, z: w.txt(z, "_dmarc.mail", ["v=DMARC1; p=maybe"])),
    ("domain-txt-removed", K.DOMAIN, VERIFIED, lambda w, z: w.txt(z, "mail", [SPF])),
    (
        "spf-changed-after-verification",
        K.SPF,
        VERIFIED,
        lambda w, z: w.txt(z, "mail", [TOKEN, SPF.replace("-all", "?all")]),
    ),
    (
        "dkim-changed-after-verification",
        K.DKIM,
        VERIFIED,
        lambda w, z: w.delete(z, f"{DKIM1}.mail", "CNAME"),
    ),
    (
        "dkim2-changed-after-verification",
        K.DKIM2,
        VERIFIED,
        lambda w, z: w.cname(z, f"{DKIM2}.mail", f"{DKIM1}.azurecomm.net"),
    ),
    (
        "verification-failed-but-dns-ok",
        K.DKIM,
        {**VERIFIED, K.DKIM: KindState("VerificationFailed", "CnameRecordNotFound")},
        lambda w, z: None,
    ),
    ("verification-not-started", K.SPF, pending(K.SPF), lambda w, z: None),
]


@pytest.fixture(scope="module")
def world(sandbox: Sandbox) -> Iterator[World]:
    with World(sandbox) as w:
        yield w


def right_setup(sandbox: Sandbox, world: World) -> tuple[str, str, DnsLookup]:
    """A new zone holding mail.<zone>'s right records (`publish`): the zone, the domain, and a lookup
    through the sandbox's resolver."""
    zone = unique_zone("diag")
    world.zone(zone, DNS_RG)
    publish(world, zone, "mail")
    return zone, f"mail.{zone}", DnsLookup([parse_dns_server(sandbox.dns_server)], timeout=2)


def test_the_right_records_have_no_finding(sandbox: Sandbox, world: World) -> None:
    """The setup each case below starts from is right: no finding."""
    zone, domain, lookup = right_setup(sandbox, world)
    answers = lookup.lookup(domain, expected(domain))
    assert answers.zone == zone
    assert diagnose(expected(domain), zone, answers, VERIFIED) == []


@pytest.mark.parametrize(("code", "kind", "states", "change"), CASES, ids=[c[0] for c in CASES])
def test_each_finding_from_a_state_built_in_the_sandbox(
    sandbox: Sandbox,
    world: World,
    code: str,
    kind: VerificationKind | None,
    states: dict[VerificationKind, KindState],
    change: Change,
) -> None:
    zone, domain, lookup = right_setup(sandbox, world)
    change(world, zone)  # to the right setup, which alone has no finding (the test above)
    answers = lookup.lookup(domain, expected(domain))
    findings = diagnose(expected(domain), answers.zone, answers, states)
    assert [(f.code, f.kind) for f in findings] == [(code, kind)], [f.message for f in findings]
    finding = findings[0]
    if finding.severity is Severity.ERROR:  # every error says what to do, record by record
        assert finding.fix
        assert all(s.text for s in finding.fix)
        assert all(s.host and not s.host.endswith(zone) for s in finding.fix if s.action == "create")
