"""The quickstart way: one domain after another, one record after another, one verification type at a time.

    .venv/bin/python -m bench.baseline --config domains.toml --arm-endpoint https://127.0.0.1:PORT \
        --auth sandbox [--poll 30] [--ca-bundle ca.pem]

This is the comparison point for `bench.many_domains` (variant b). It is written the way the public
Azure quickstarts and portal guidance script the job with the same SDK clients acs-dns uses
(azure-mgmt-communication, azure-mgmt-dns), default client settings (the SDK's own retry policy):

    for each domain in turn:
        GET the email domain (its verificationRecords)
        for each record in turn: GET the record set (404 -> start a new one), add the value, PUT it
            (TXT values are merged naively: the new value is appended to whatever the set holds)
        for each verification type in turn (Domain, SPF, DKIM, DKIM2[, DMARC]):
            begin_initiate_verification(...).result()
            every --poll seconds: GET the domain, until that type is Verified or VerificationFailed

It reads the same TOML file as `acs-dns --config` ([defaults] + [[domain]] with name, subscription,
resource_group, email_service; zone/zone_resource_group optional: without them the zones of the
subscription are listed once and the longest suffix match is used, as a script with a hard-coded zone
would do). It prints one JSON document on stdout: {"command": "baseline", "domains": [{"domain",
"result", "verification", "message"}], "exit_code"}. A domain that raises is reported and the script
goes on with the next one (a real quickstart script would simply stop there).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

KINDS = ("Domain", "SPF", "DKIM", "DKIM2", "DMARC")
TERMINAL = ("Verified", "VerificationFailed")


def load_domains(path: Path) -> list[dict[str, Any]]:
    data = tomllib.loads(path.read_text())
    defaults = data.get("defaults", {})
    return [{**defaults, **entry} for entry in data.get("domain", [])]


def make_clients(subscription: str, endpoint: str, auth: str, ca_bundle: str | None) -> tuple[Any, Any]:
    from azure.mgmt.communication import CommunicationServiceManagementClient
    from azure.mgmt.dns import DnsManagementClient

    if auth == "sandbox":
        from provisioner.azure.credentials import SandboxCredential

        credential: Any = SandboxCredential()
    else:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    kwargs: dict[str, Any] = {"base_url": endpoint, "credential_scopes": [endpoint + "/.default"]}
    if ca_bundle:
        kwargs["connection_verify"] = ca_bundle
    comm = CommunicationServiceManagementClient(credential, subscription, **kwargs)
    dns = DnsManagementClient(credential, subscription, **kwargs)
    return comm, dns


def _record(records: Any, kind: str) -> Any:
    if records is None:
        return None
    try:
        return records[kind]  # wire key (hybrid model); attribute names are lower-case
    except (KeyError, TypeError):
        return getattr(records, kind.lower(), None)


def _status(domain: Any, kind: str) -> str:
    states = domain.properties.verification_states
    state = _record(states, kind)
    if state is None:
        return "NotStarted"
    return str(state["status"] if "status" in state else getattr(state, "status", "NotStarted"))


def zone_for(domain: str, entry: dict[str, Any], zones: list[tuple[str, str]]) -> tuple[str, str]:
    """(resource group, zone name): from the entry, else the longest zone name the domain ends with."""
    if entry.get("zone") and entry.get("zone_resource_group"):
        return entry["zone_resource_group"], entry["zone"]
    best: tuple[str, str] | None = None
    for rg, name in zones:
        if (domain == name or domain.endswith("." + name)) and (best is None or len(name) > len(best[1])):
            best = (rg, name)
    if best is None:
        raise RuntimeError(f"no DNS zone holds {domain}")
    return best


def relative(api_name: str, domain: str, zone: str) -> str:
    fqdn = api_name.rstrip(".").lower()
    if fqdn in ("@", ""):
        fqdn = domain
    elif fqdn != domain and not fqdn.endswith("." + domain):
        fqdn = f"{fqdn}.{domain}"
    return "@" if fqdn == zone else fqdn[: -len(zone) - 1]


def provision_one(comm: Any, dns: Any, entry: dict[str, Any], zone: tuple[str, str], poll: float) -> dict:
    from azure.core.exceptions import ResourceNotFoundError
    from azure.mgmt.dns import models

    rg, es, name = entry["resource_group"], entry["email_service"], entry["name"].lower()
    zone_rg, zone_name = zone
    domain = comm.domains.get(rg, es, name)
    records = domain.properties.verification_records
    kinds = []
    for kind in KINDS:
        rec = _record(records, kind)
        if rec is None or not rec["value"]:
            continue
        kinds.append(kind)
        rtype = str(rec["type"]).upper()
        rel = relative(rec["name"], name, zone_name)
        try:
            rs = dns.record_sets.get(zone_rg, zone_name, rel, rtype)
        except ResourceNotFoundError:
            rs = models.RecordSet(ttl=int(rec.get("ttl") or 3600))
        if rtype == "TXT":
            values = list(rs.txt_records or [])
            if not any(rec["value"] in (t.value or []) for t in values):
                values.append(models.TxtRecord(value=[rec["value"]]))
            rs.txt_records = values
        elif rtype == "CNAME":
            rs.cname_record = models.CnameRecord(cname=rec["value"])
        dns.record_sets.create_or_update(zone_rg, zone_name, rel, rtype, rs)
    states: dict[str, str] = {}
    for kind in kinds:
        comm.domains.begin_initiate_verification(rg, es, name, {"verificationType": kind}).result()
        while True:
            time.sleep(poll)
            status = _status(comm.domains.get(rg, es, name), kind)
            if status in TERMINAL:
                states[kind] = status
                break
    failed = [k for k, s in states.items() if s != "Verified"]
    return {
        "domain": name,
        "result": "verification-failed" if failed else "verified",
        "verification": states,
        "message": f"failed: {', '.join(failed)}" if failed else "",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--arm-endpoint", default="https://management.azure.com")
    parser.add_argument("--auth", choices=("default", "sandbox"), default="default")
    parser.add_argument("--ca-bundle", default=os.environ.get("REQUESTS_CA_BUNDLE"))
    parser.add_argument("--poll", type=float, default=30.0, help="seconds between status GETs (default 30)")
    args = parser.parse_args(argv)

    entries = load_domains(args.config)
    endpoint = args.arm_endpoint.rstrip("/")
    clients: dict[str, tuple[Any, Any]] = {}
    zones: dict[str, list[tuple[str, str]]] = {}
    out = []
    for entry in entries:
        sub = entry["subscription"]
        name = entry["name"].lower()
        try:
            if sub not in clients:
                clients[sub] = make_clients(sub, endpoint, args.auth, args.ca_bundle)
            comm, dns = clients[sub]
            if sub not in zones and not (entry.get("zone") and entry.get("zone_resource_group")):
                zones[sub] = [(z.id.split("/")[4], z.name.lower()) for z in dns.zones.list()]
            zone = zone_for(name, entry, zones.get(sub, []))
            report = provision_one(comm, dns, entry, zone, args.poll)
        except Exception as exc:  # report and go on with the next domain
            report = {
                "domain": name,
                "result": "error",
                "verification": {},
                "message": f"{type(exc).__name__}: {exc}",
            }
        print(f"{name}: {report['result']} {report['message']}".rstrip(), file=sys.stderr, flush=True)
        out.append(report)
    for comm, dns in clients.values():
        comm.close()
        dns.close()
    code = 0 if all(r["result"] == "verified" for r in out) else 1
    print(json.dumps({"version": 1, "command": "baseline", "exit_code": code, "domains": out}, indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
