"""Verification decisions: which types to start, when a domain is done, and how often to poll."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
def test_polls_come_every_first_seconds_then_every_tenth_of_the_wait_at_most_maximum_apart() -> None:
    times, t = [], 0.0
    while t < 400:
        t += next_poll_delay(t, first=5.0, maximum=30.0)
        times.append(round(t, 3))
    assert times[:11] == [5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 55.0]
    assert times[11:14] == [60.5, 66.55, 73.205]  # a tenth of the time waited
    assert all(b - a == 30.0 for a, b in zip(times[-4:-1], times[-3:], strict=True))  # the ceiling


def test_a_short_first_delay_and_a_low_ceiling_are_kept() -> None:
    assert next_poll_delay(0.0, first=0.2, maximum=10.0) == 0.2
    assert next_poll_delay(1.0, first=0.2, maximum=10.0) == 0.2
    assert next_poll_delay(50.0, first=0.2, maximum=10.0) == 5.0
    assert next_poll_delay(500.0, first=0.2, maximum=10.0) == 10.0


@settings(max_examples=300, deadline=None)
@given(
    done_at=st.floats(min_value=0.0, max_value=3600.0),
    first=st.floats(min_value=1.0, max_value=60.0),
    maximum=st.floats(min_value=1.0, max_value=120.0),
)
def test_a_state_change_is_seen_at_most_a_tenth_of_the_wait_late(
    done_at: float, first: float, maximum: float
) -> None:
    """Whenever a type turns terminal, the next poll comes within min(maximum, max(first, a tenth of the
    time waited)): within 1.1x of the time it took, once that is longer than 10 x first."""
    maximum = max(first, maximum)
    t = 0.0
    while t < done_at:
        t += next_poll_delay(t, first=first, maximum=maximum)
    assert t - done_at <= min(maximum, max(first, done_at / 10)) + 1e-9
