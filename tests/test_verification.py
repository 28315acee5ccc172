"""Verification decisions: which types to start, when a domain is done, and how often to poll."""

from __future__ import annotations

import json

import pytest

from provisioner.model import VerificationKind as K
from provisioner.verification import (
    NOT_STARTED,
    KindState,
    VerificationStatus,
    all_terminal,
    all_verified,
    failed_kinds,
    kinds_to_start,
    next_poll_delay,
    ordered,
)

ALL = [K.DMARC, K.DKIM2, K.DKIM, K.SPF, K.DOMAIN]  # deliberately out of order
STANDARD = [K.DOMAIN, K.SPF, K.DKIM, K.DKIM2]


# --- one type's state: the service spells statuses in PascalCase; case does not matter ----------------
@pytest.mark.parametrize(
    ("status", "verified", "failed", "in_flight", "terminal"),
    [
        ("Verified", True, False, False, True),
        ("VERIFIED", True, False, False, True),
        ("VerificationFailed", False, True, False, True),
        ("verificationfailed", False, True, False, True),
        ("VerificationRequested", False, False, True, False),
        ("VerificationInProgress", False, False, True, False),
        ("NotStarted", False, False, False, False),
        ("CancellationRequested", False, False, False, False),  # not ours: neither done nor waited for
    ],
)
def test_kind_state_classifies_the_service_status(
    status: str, verified: bool, failed: bool, in_flight: bool, terminal: bool
) -> None:
    state = KindState(status)
    assert (state.verified, state.failed, state.in_flight, state.terminal) == (
        verified,
        failed,
        in_flight,
        terminal,
    )


def test_kind_state_keeps_the_error_code() -> None:
    assert KindState("VerificationFailed", "DomainVerificationRecordNotFound").error_code == (
        "DomainVerificationRecordNotFound"
    )
    assert KindState("Verified").error_code is None


def test_not_started_is_neither_terminal_nor_in_flight() -> None:
    assert NOT_STARTED.status == "NotStarted"
    assert not (NOT_STARTED.terminal or NOT_STARTED.in_flight or NOT_STARTED.verified or NOT_STARTED.failed)


# --- the status is an enum; the service's spelling stays readable ---------------------------------------
def test_every_status_the_api_defines_is_a_member_with_the_services_spelling() -> None:
    # VerificationStatusRecord.status in Microsoft.Communication 2025-09-01 (Domains.json)
    spec = ["NotStarted", "VerificationRequested", "VerificationInProgress", "VerificationFailed"]
    spec += ["Verified", "CancellationRequested"]
    assert [KindState(s).status.value for s in spec] == spec
    assert all(isinstance(KindState(s).status, VerificationStatus) for s in spec)


def test_a_status_compares_equal_to_the_services_string_and_keeps_it_in_json() -> None:
    state = KindState("verified")  # any case parses to the member
    assert state.status is VerificationStatus.VERIFIED
    assert state.status == "Verified"  # StrEnum: code comparing with the string keeps working
    assert json.dumps({"status": state.status}) == '{"status": "Verified"}'
    assert state == KindState("Verified")  # the spelling it came in does not make another state


def test_a_status_the_api_version_does_not_know_is_unknown_not_a_crash() -> None:
    state = KindState("VerificationPaused", "SomethingNew")
    assert state.status is VerificationStatus.UNKNOWN
    assert (state.label, state.error_code) == ("VerificationPaused", "SomethingNew")  # shown as sent
    assert not (state.verified or state.failed or state.in_flight or state.terminal)
    assert kinds_to_start([K.DOMAIN], {K.DOMAIN: state}) == [K.DOMAIN]  # not waited for: started again


def test_a_known_status_is_labelled_with_the_members_spelling() -> None:
    assert KindState("VERIFICATIONFAILED").label == "VerificationFailed"
    assert KindState(VerificationStatus.VERIFICATION_REQUESTED).label == "VerificationRequested"


# --- which types to start -------------------------------------------------------------------------------
def test_order_is_domain_first_and_duplicates_collapse() -> None:
    assert ordered([*ALL, K.SPF, K.DOMAIN]) == [K.DOMAIN, K.SPF, K.DKIM, K.DKIM2, K.DMARC]
    assert ordered([]) == []


def test_nothing_known_starts_every_type_in_order() -> None:
    assert kinds_to_start(ALL, {}) == [K.DOMAIN, K.SPF, K.DKIM, K.DKIM2, K.DMARC]


def test_verified_and_in_flight_types_are_not_started_again_but_failed_ones_are() -> None:
    states = {
        K.DOMAIN: KindState("Verified"),
        K.SPF: KindState("VerificationRequested"),
        K.DKIM: KindState("VerificationInProgress"),
        K.DKIM2: KindState("VerificationFailed", "DkimRecordMismatch"),
        K.DMARC: KindState("NotStarted"),
    }
    assert kinds_to_start(ALL, states) == [K.DKIM2, K.DMARC]


def test_only_the_domains_own_kinds_are_started() -> None:
    states = {K.DMARC: KindState("NotStarted")}  # the service lists DMARC, but this domain has no record
    assert kinds_to_start(STANDARD, states) == STANDARD


def test_kinds_can_be_any_iterable_even_a_generator() -> None:
    assert kinds_to_start((k for k in [K.SPF, K.DOMAIN]), {K.SPF: KindState("Verified")}) == [K.DOMAIN]


# --- what the states add up to -------------------------------------------------------------------------
def test_all_verified_needs_every_kind_verified() -> None:
    verified = {k: KindState("Verified") for k in STANDARD}
    assert all_verified(STANDARD, verified)
    assert not all_verified(STANDARD, {**verified, K.DKIM2: KindState("VerificationInProgress")})
    assert not all_verified(STANDARD, {k: verified[k] for k in STANDARD[:3]})  # DKIM2 unknown: not started
    assert all_verified([], {})  # a domain with nothing to verify (AzureManaged) is done


def test_all_terminal_counts_failures_as_done() -> None:
    states = {K.DOMAIN: KindState("Verified"), K.SPF: KindState("VerificationFailed")}
    assert all_terminal([K.DOMAIN, K.SPF], states)
    assert not all_terminal([K.DOMAIN, K.SPF, K.DKIM], states)
    assert not all_terminal([K.DOMAIN], {K.DOMAIN: KindState("VerificationRequested")})


def test_failed_kinds_in_verification_order() -> None:
    states = {
        K.DKIM2: KindState("VerificationFailed"),
        K.DOMAIN: KindState("verificationfailed"),
        K.SPF: KindState("Verified"),
    }
    assert failed_kinds(ALL, states) == [K.DOMAIN, K.DKIM2]
    assert failed_kinds([K.SPF], states) == []


# --- polling backoff ------------------------------------------------------------------------------------
def test_backoff_starts_at_first_grows_by_half_and_stops_at_maximum() -> None:
    delays, delay = [], 0.0
    for _ in range(7):
        delay = next_poll_delay(delay, first=5.0, maximum=30.0)
        delays.append(delay)
    assert delays == [5.0, 7.5, 11.25, 16.875, 25.3125, 30.0, 30.0]


@pytest.mark.parametrize("previous", [0.0, -1.0])
def test_backoff_restarts_at_first_when_there_was_no_previous_delay(previous: float) -> None:
    assert next_poll_delay(previous, first=2.0, maximum=10.0) == 2.0


def test_backoff_never_exceeds_maximum_even_from_a_large_previous_delay() -> None:
    assert next_poll_delay(100.0, first=5.0, maximum=30.0) == 30.0
    assert next_poll_delay(20.0, first=5.0, maximum=30.0) == 30.0  # 30 exactly: min, not above
    assert next_poll_delay(19.0, first=5.0, maximum=30.0) == 28.5


def test_backoff_grows_from_small_delays_too() -> None:
    # sub-second delays (tests, --poll settings) grow like any other; only "no previous delay" restarts
    assert next_poll_delay(1.0, first=0.2, maximum=10.0) == 1.5
    assert next_poll_delay(0.5, first=0.2, maximum=10.0) == 0.75
