"""TXT merge: foreign records kept byte for byte, one SPF record, DMARC, Azure's limits, splitting."""

from __future__ import annotations

import pytest

from provisioner.errors import RefusedError
from provisioner.model import RecordSet, RecordType, TxtRecord
from provisioner.txt import (
    MAX_RECORDS_PER_SET,
    MAX_TXT_CHARS_PER_SET,
    MAX_TXT_STRING,
    is_dmarc,
    merge_txt_set,
    split_txt,
)

TOKEN = "ms-domain-verification=3f2c9d4e-8b1a-4c6f-9e2d-7a5b1c0d4e8f"
SPF = "v=spf1 include:spf.protection.outlook.com -all"
DMARC = "v=DMARC1; p=none;"
GOOGLE = TxtRecord(("google-site-verification=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",))
LONG_FOREIGN = TxtRecord(("k=rsa; p=" + "A" * 246, "B" * 255, "C" * 40))  # a 3-string record, 550 chars
ODD_SPLIT = TxtRecord(("hello ", "wor", "ld"))  # split points are part of the stored value


def txt_set(*records: TxtRecord, name: str = "@", **kwargs: object) -> RecordSet:
    return RecordSet(name, RecordType.TXT, txt=records, **kwargs)  # type: ignore[arg-type]


def merge(current: RecordSet | None, **kwargs: object):  # small wrapper with the usual arguments
    options: dict[str, object] = {"allow_hardfail_change": False, "ttl": 3600, "name": "@"}
    options.update(kwargs)
    token = options.pop("token", TOKEN)
    spf = options.pop("spf", SPF)
    return merge_txt_set(current, token, spf, **options)  # type: ignore[arg-type]


# --- split ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "parts"), [(0, [0]), (1, [1]), (255, [255]), (256, [255, 1]), (600, [255, 255, 90])]
)
def test_split_txt_at_255_characters(length: int, parts: list[int]) -> None:
    value = "".join(chr(ord("a") + i % 26) for i in range(length))
    strings = split_txt(value)
    assert [len(s) for s in strings] == parts
    assert "".join(strings) == value


def test_split_txt_counts_characters_not_bytes() -> None:
    strings = split_txt("é" * 300)
    assert [len(s) for s in strings] == [MAX_TXT_STRING, 45]


def test_is_dmarc() -> None:
    assert is_dmarc("v=DMARC1; p=none")
    assert is_dmarc("v = dmarc1;p=reject")
    assert is_dmarc("v=DMARC1")
    assert not is_dmarc("v=DMARC10; p=none")
    assert not is_dmarc("p=none; v=DMARC1")


# --- new set ----------------------------------------------------------------------------------------


def test_new_set_holds_token_then_spf_with_given_ttl_and_no_metadata() -> None:
    result = merge(None, name="mail", ttl=300)
    assert result.changed
    assert result.record_set == RecordSet(
        "mail", RecordType.TXT, ttl=300, txt=(TxtRecord((TOKEN,)), TxtRecord((SPF,)))
    )
    assert result.notes == ("added domain verification token", "added SPF record")


def test_new_set_needs_a_name() -> None:
    with pytest.raises(ValueError, match="name"):
        merge_txt_set(None, TOKEN, SPF, allow_hardfail_change=False, ttl=3600)


def test_current_must_be_a_txt_set() -> None:
    with pytest.raises(ValueError, match="not a TXT"):
        merge(RecordSet("@", RecordType.CNAME, cname="x.example"))


# --- foreign records ----------------------------------------------------------------------------------


def test_foreign_records_stay_byte_for_byte_and_ours_are_appended() -> None:
    current = txt_set(GOOGLE, LONG_FOREIGN, ODD_SPLIT, ttl=60, metadata={"team": "web"}, etag="etag-1")
    result = merge(current)
    assert result.changed
    assert result.record_set.txt == (GOOGLE, LONG_FOREIGN, ODD_SPLIT, TxtRecord((TOKEN,)), TxtRecord((SPF,)))
    assert (result.record_set.ttl, result.record_set.metadata_dict(), result.record_set.etag) == (
        60,
        {"team": "web"},
        "etag-1",
    )


def test_existing_spf_is_replaced_in_place_and_foreign_records_keep_their_positions() -> None:
    current = txt_set(GOOGLE, TxtRecord(("v=spf1 include:_spf.google.com -all",)), LONG_FOREIGN)
    result = merge(current)
    assert result.record_set.txt == (
        GOOGLE,
        TxtRecord(("v=spf1 include:_spf.google.com include:spf.protection.outlook.com -all",)),
        LONG_FOREIGN,
        TxtRecord((TOKEN,)),
    )
    assert "added include:spf.protection.outlook.com" in result.notes


def test_unchanged_spf_keeps_its_original_strings() -> None:
    split_spf = TxtRecord(("v=spf1 include:spf.protection", ".outlook.com -all"))
    current = txt_set(TxtRecord((TOKEN,)), split_spf)
    result = merge(current)
    assert not result.changed
    assert result.record_set is not None and result.record_set.txt == (TxtRecord((TOKEN,)), split_spf)
    assert result.notes == ()


def test_token_split_across_strings_counts_as_present() -> None:
    current = txt_set(TxtRecord(("ms-domain-verification=", TOKEN.split("=", 1)[1])), TxtRecord((SPF,)))
    assert not merge(current).changed


def test_already_correct_set_is_returned_unchanged() -> None:
    current = txt_set(GOOGLE, TxtRecord((TOKEN,)), TxtRecord((SPF,)), etag="e")
    result = merge(current)
    assert (result.changed, result.record_set) == (False, current)


def test_long_merged_spf_is_split_into_255_character_strings() -> None:
    mechanisms = " ".join(f"ip4:192.0.2.{i}" for i in range(30))
    current = txt_set(TxtRecord(split_txt(f"v=spf1 {mechanisms} -all")))
    result = merge(current, token=None)
    (spf,) = result.record_set.txt
    assert all(len(s) <= MAX_TXT_STRING for s in spf.strings)
    assert len(spf.strings) == 2
    assert spf.text == f"v=spf1 {mechanisms} include:spf.protection.outlook.com -all"


def test_long_token_is_split() -> None:
    result = merge(None, token="x" * 300, spf=None)
    assert [len(s) for s in result.record_set.txt[0].strings] == [255, 45]


# --- SPF rules --------------------------------------------------------------------------------------


def test_spf_none_leaves_spf_untouched() -> None:
    soft = TxtRecord(("v=spf1 mx ~all",))
    result = merge(txt_set(soft), spf=None)
    assert result.record_set.txt == (soft, TxtRecord((TOKEN,)))


def test_token_none_adds_no_token() -> None:
    result = merge(txt_set(GOOGLE), token=None)
    assert result.record_set.txt == (GOOGLE, TxtRecord((SPF,)))


def test_soft_fail_spf_is_refused_without_permission() -> None:
    with pytest.raises(RefusedError, match="~all"):
        merge(txt_set(TxtRecord(("v=spf1 mx ~all",))))


def test_soft_fail_spf_is_hardened_with_permission() -> None:
    result = merge(txt_set(TxtRecord(("v=spf1 mx ~all",)), GOOGLE), allow_hardfail_change=True)
    assert result.record_set.txt[0].text == "v=spf1 mx include:spf.protection.outlook.com -all"
    assert result.record_set.txt[1] == GOOGLE
    assert "changed ~all to -all" in result.notes


def test_two_spf_records_are_refused_and_named() -> None:
    current = txt_set(TxtRecord(("v=spf1 mx -all",)), GOOGLE, TxtRecord(("v=spf1 a ~all",)))
    with pytest.raises(RefusedError) as caught:
        merge(current)
    message = caught.value.message
    assert "2 SPF" in message
    assert "'v=spf1 mx -all'" in message and "'v=spf1 a ~all'" in message
    assert "RFC 7208" in message


def test_two_spf_records_are_refused_even_when_spf_is_already_merged() -> None:
    current = txt_set(TxtRecord((SPF,)), TxtRecord((SPF,)))
    with pytest.raises(RefusedError, match="2 SPF"):
        merge(current)


# --- DMARC ------------------------------------------------------------------------------------------


def test_dmarc_is_added_when_there_is_none() -> None:
    result = merge(None, token=None, spf=None, dmarc_wanted=DMARC, name="_dmarc")
    assert result.record_set.txt == (TxtRecord((DMARC,)),)
    assert result.notes == ("added DMARC record",)


def test_a_different_dmarc_record_is_kept_and_no_second_one_added() -> None:
    theirs = TxtRecord(("v=DMARC1; p=reject; rua=mailto:d@example.com",))
    current = txt_set(theirs, name="_dmarc")
    result = merge(current, token=None, spf=None, dmarc_wanted=DMARC)
    assert (result.changed, result.record_set.txt) == (False, (theirs,))
    assert "kept the existing DMARC record" in result.notes[0]


def test_the_same_dmarc_record_is_a_noop() -> None:
    current = txt_set(TxtRecord((DMARC,)), name="_dmarc")
    result = merge(current, token=None, spf=None, dmarc_wanted=DMARC)
    assert (result.changed, result.notes) == (False, ())


# --- Azure limits -----------------------------------------------------------------------------------


def test_twenty_records_are_allowed() -> None:
    current = txt_set(*(TxtRecord((f"foreign-{i}",)) for i in range(MAX_RECORDS_PER_SET - 2)))
    assert len(merge(current).record_set.txt) == MAX_RECORDS_PER_SET


def test_twenty_one_records_are_refused() -> None:
    current = txt_set(*(TxtRecord((f"foreign-{i}",)) for i in range(MAX_RECORDS_PER_SET - 1)))
    with pytest.raises(RefusedError, match="21 records; Azure DNS allows at most 20"):
        merge(current)


def test_4096_characters_are_allowed() -> None:
    used = len(TOKEN) + len(SPF)
    filler = MAX_TXT_CHARS_PER_SET - used
    current = txt_set(TxtRecord(split_txt("f" * filler)))
    result = merge(current)
    assert sum(len(s) for r in result.record_set.txt for s in r.strings) == MAX_TXT_CHARS_PER_SET


def test_over_4096_characters_is_refused() -> None:
    filler = MAX_TXT_CHARS_PER_SET - len(TOKEN) - len(SPF) + 1
    current = txt_set(TxtRecord(split_txt("f" * filler)))
    with pytest.raises(RefusedError, match="4097 characters; Azure DNS allows at most 4096"):
        merge(current)


def test_limits_are_not_checked_when_nothing_changes() -> None:
    # A set Azure would no longer accept is not our business unless we write it.
    current = txt_set(
        *(TxtRecord((f"foreign-{i}",)) for i in range(25)), TxtRecord((TOKEN,)), TxtRecord((SPF,))
    )
    assert not merge(current).changed


# --- the exact words a user reads (mutation testing found these unchecked) -------------------------------
def test_two_spf_records_message_quotes_each_up_to_80_characters_and_says_what_to_do() -> None:
    exactly_80 = "v=spf1 " + "a" * 68 + " -all"  # 80 characters: quoted whole
    too_long = "v=spf1 " + "b" * 69 + " -all"  # 81 characters: cut to 77 + "..."
    assert (len(exactly_80), len(too_long)) == (80, 81)
    with pytest.raises(RefusedError) as caught:
        merge(txt_set(TxtRecord((exactly_80,)), TxtRecord((too_long,))))
    shown = repr(too_long[:77] + "...")
    assert caught.value.message == (
        f"the record set already holds 2 SPF (v=spf1) records ({exactly_80!r}, {shown}); "
        "RFC 7208 makes that a permanent error, and acs-dns will not guess which one to merge into"
    )
    assert caught.value.hint == "merge them into a single v=spf1 record by hand, then re-run"


def test_limit_refusals_say_what_to_remove() -> None:
    too_many = txt_set(*(TxtRecord((f"foreign-{i}",)) for i in range(MAX_RECORDS_PER_SET - 1)))
    with pytest.raises(RefusedError) as caught:
        merge(too_many)
    assert caught.value.hint == (
        "remove TXT records that are no longer needed (old site verifications), then re-run"
    )
    too_long = txt_set(TxtRecord(split_txt("f" * MAX_TXT_CHARS_PER_SET)))
    with pytest.raises(RefusedError) as caught:
        merge(too_long)
    assert caught.value.hint == "remove or shorten TXT records that are no longer needed, then re-run"


def test_new_set_without_a_name_is_a_programming_error_that_says_so() -> None:
    with pytest.raises(ValueError, match=r"^a name is needed to create a TXT record set$"):
        merge_txt_set(None, TOKEN, SPF, allow_hardfail_change=False, ttl=3600)


def test_token_spf_and_dmarc_together_report_every_change() -> None:
    result = merge(None, dmarc_wanted=DMARC)
    assert result.record_set.txt == (TxtRecord((TOKEN,)), TxtRecord((SPF,)), TxtRecord((DMARC,)))
    assert result.notes == ("added domain verification token", "added SPF record", "added DMARC record")
