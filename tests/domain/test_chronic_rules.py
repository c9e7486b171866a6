"""Registry rules (YAML) into frozen values, with errors naming file, condition, field."""

from __future__ import annotations

import pytest

from bmb.domain.chronic import Position, Source, default_rules, parse_rules_text
from bmb.domain.errors import ConfigError


def test_default_rules_cover_at_least_15_conditions_with_every_source() -> None:
    rules = default_rules()
    assert len(rules.conditions) >= 15
    sources = {k.source for c in rules.conditions for k in c.criteria}
    assert sources == set(Source)
    assert rules.max_lookback_days == 1826
    diabetes = rules.condition("diabetes")
    rx = next(k for k in diabetes.criteria if k.source is Source.PHARMACY)
    assert rx.codes == ("A10",)
    assert rx.min_count == 2
    assert rx.lookback_days == 365
    ex = next(k for k in diabetes.criteria if k.source is Source.EXEMPTION)
    assert ex.active_at_reference
    assert ex.lookback_days is None


def test_rule_fields_parse() -> None:
    rules = parse_rules_text(
        """
conditions:
  heart_failure:
    criteria:
      - {source: hospital, icd9cm: ["428"], position: principal, lookback_days: 100}
  ckd:
    criteria:
      - {source: lab, loinc: [2160-0], above: 1.5, min_count: 2, min_span_days: 90,
         lookback_years: 2, unless: [heart_failure]}
""",
        "mine.yaml",
    )
    hf = rules.condition("heart_failure").criteria[0]
    assert hf.position is Position.PRINCIPAL
    assert hf.lookback_days == 100
    lab = rules.condition("ckd").criteria[0]
    assert (lab.above, lab.min_span_days, lab.lookback_days) == (1.5, 90, 731)
    assert lab.unless == ("heart_failure",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nothing: 1", "mine.yaml: a rules file needs a 'conditions' mapping"),
        ("conditions: {x: {criteria: [{source: mail, codes: [1]}]}}", "condition x, criterion 1"),
        ("conditions: {x: {criteria: [{source: pharmacy, lookback_years: 1}]}}", "needs 'atc'"),
        ("conditions: {x: {criteria: [{source: hospital, icd9cm: ['250']}]}}", "lookback"),
        ("conditions: {x: {criteria: [{source: lab, loinc: [a], lookback_days: 9}]}}", "above"),
        (
            "conditions: {x: {criteria: [{source: exemption, codes: ['013'], unless: [y]}]}}",
            "unknown conditions",
        ),
        ("conditions: {x: {criteria: [{source: exemption, codes: ['0'], colour: 3}]}}", "colour"),
        ("conditions: {Bad-Name: {criteria: [{source: exemption, codes: ['0']}]}}", "lower-case"),
        ("conditions: [1", "not valid YAML"),
    ],
)
def test_bad_rules_name_file_condition_and_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_rules_text(text, "mine.yaml")


def test_reference_page_lists_every_default_condition() -> None:
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "reference" / "registry-rules.md"
    text = page.read_text(encoding="utf-8")
    for cond in default_rules().conditions:
        assert f"| {cond.name}" in text, f"{cond.name} missing from {page.name}"
