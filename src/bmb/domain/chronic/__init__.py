"""Chronic-condition registry rules (BDA-style) as frozen values, and the default rules.

``default_rules()`` reads ``bda.yaml`` shipped in this package; a steward's own file is
read by the caller (the CLI) and given to :func:`parse_rules_text`, because the domain
reads no user files.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from bmb.domain.chronic.rules import (
    ConditionRule,
    Criterion,
    Position,
    RuleSet,
    Source,
    parse_rules,
)
from bmb.domain.errors import ConfigError

DEFAULT_RULES_FILE = "bda.yaml"


def default_rules_text() -> str:
    """The default rules file, as text (what ``bmb registry rules`` prints)."""
    return resources.files(__package__).joinpath(DEFAULT_RULES_FILE).read_text(encoding="utf-8")


def parse_rules_text(text: str, origin: str) -> RuleSet:
    """Rules from YAML text; ``origin`` (a file name) appears in every error message."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from exc
    return parse_rules(data, origin)


@cache
def default_rules() -> RuleSet:
    """BMB's default registry rules (``bda.yaml``)."""
    return parse_rules_text(default_rules_text(), f"bmb/domain/chronic/{DEFAULT_RULES_FILE}")


__all__ = [
    "ConditionRule",
    "Criterion",
    "Position",
    "RuleSet",
    "Source",
    "default_rules",
    "default_rules_text",
    "parse_rules",
    "parse_rules_text",
]
