"""Property: any text, any stage, any codes -> an answer, never an exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.classifier import (
    Classification,
    Failure,
    Level,
    Persistence,
    Reason,
    Stage,
    classify,
)

STAGES = st.one_of(st.sampled_from([stage.value for stage in Stage]), st.text())
# Text that mixes mail-protocol fragments with arbitrary characters, so that
# the code readers and rules get exercised, not only random noise.
FRAGMENTS = st.sampled_from(
    [
        "550",
        "5.1.1",
        "4.7.",
        "-ERR [",
        "a1 NO [",
        "]",
        "(",
        "b'",
        "Action: ",
        "Status: ",
        "[Errno ",
        "status code ",
        "relay",
        "spf",
        "quota",
        "\n",
        "\x00",
        "\u202e",
    ]
)
TEXTS = st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=30).map("".join)
CODES = st.one_of(st.none(), st.integers(), st.text(max_size=5))
VALID_REASONS = {reason.value for reason in Reason}


@settings(max_examples=600, deadline=None)
@given(
    stage=STAGES,
    text=st.one_of(TEXTS, st.none(), st.binary(max_size=50)),
    reply_code=CODES,
    status=st.one_of(st.none(), st.text(max_size=12)),
    exception=st.one_of(st.none(), st.text(max_size=30)),
)
def test_any_failure_gets_a_consistent_answer(
    stage: str, text: object, reply_code: object, status: object, exception: object
) -> None:
    failure = Failure(
        stage=stage,
        text=text,  # type: ignore[arg-type]
        reply_code=reply_code,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        exception=exception,  # type: ignore[arg-type]
    )

    decision = classify(failure)

    assert isinstance(decision, Classification)
    assert decision.facts.get("decided_by") != "fallback"
    assert decision.reason in VALID_REASONS
    expected_level = (
        Level.ERROR if decision.persistence is Persistence.PERMANENT else Level.WARNING
    )
    assert decision.level is expected_level
    assert decision.explanation.endswith(".")
    assert decision.as_dict()["scope"] in ("email", "mailbox", "profile")
