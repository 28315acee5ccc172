"""The shared value objects: normalisation on construction and equality."""

from __future__ import annotations

import dataclasses

import pytest

from provisioner.model import (
    OWNER_METADATA_KEY,
    RecordSet,
    RecordType,
    TxtRecord,
    VerificationKind,
)


def test_txt_record_text_joins_strings_without_separator() -> None:
    assert TxtRecord(("v=spf1 include:a", ".example.com -all")).text == "v=spf1 include:a.example.com -all"


def test_txt_record_accepts_a_list_and_stores_a_tuple() -> None:
    record = TxtRecord(["a", "b"])  # type: ignore[arg-type]
    assert record.strings == ("a", "b")
    assert hash(record) == hash(TxtRecord(("a", "b")))


def test_record_set_metadata_is_sorted_pairs_and_mapping_is_accepted() -> None:
    from_pairs = RecordSet("@", RecordType.TXT, metadata=(("z", "1"), ("a", "2")))
    from_dict = RecordSet("@", RecordType.TXT, metadata={"z": "1", "a": "2"})  # type: ignore[arg-type]
    assert from_pairs.metadata == (("a", "2"), ("z", "1"))
    assert from_pairs == from_dict
    assert from_dict.metadata_dict() == {"a": "2", "z": "1"}


def test_record_set_defaults_and_type_from_string() -> None:
    record_set = RecordSet("mail", "TXT")  # type: ignore[arg-type]
    assert record_set.type is RecordType.TXT
    assert (record_set.ttl, record_set.txt, record_set.cname, record_set.etag) == (3600, (), None, None)


def test_record_set_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        RecordSet("@", RecordType.TXT).ttl = 60  # type: ignore[misc]


def test_verification_kinds_are_in_verification_order_with_wire_values() -> None:
    assert [k.value for k in VerificationKind] == ["Domain", "SPF", "DKIM", "DKIM2", "DMARC"]
    assert VerificationKind("DKIM2") is VerificationKind.DKIM2


def test_owner_key() -> None:
    assert OWNER_METADATA_KEY == "acsdns_owner"
