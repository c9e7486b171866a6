"""Covariate builders: each turns cohort rows into aggregate covariate statistics.

A builder is one analysis of FeatureExtraction's kind (demographics, conditions in
the year before index, Charlson index, ...). It gets the name of a relation of cohort
rows ``(cohort_definition_id, row_id, subject_id, cohort_start_date,
cohort_end_date)`` and returns canonical SQL yielding, per cohort and covariate:
``cohort_definition_id, covariate_id, covariate_name, kind, n, sum_value,
sum_sq_value`` where ``kind`` is ``binary`` (``n`` rows have it) or ``continuous``
(``sum``/``sum_sq`` over every row, absent values counting as zero where that is the
meaning, e.g. visit counts). New analyses (another comorbidity index, lab values)
plug in by implementing :class:`CovariateBuilder`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bmb.analytics.characterization import charlson
from bmb.analytics.cohort import sqltext as q

_COLUMNS = "cohort_definition_id, covariate_id, covariate_name, kind, n, sum_value, sum_sq_value"


class CovariateBuilder(Protocol):
    """One analysis: a name people read and the SQL of its statistics."""

    @property
    def analysis(self) -> str: ...

    def sql(self, rows: str) -> str: ...


def _binary(body: str, name: str) -> str:
    """Aggregate ``body`` rows ``(cohort_definition_id, row_id, covariate_id)``.

    ``name`` is an SQL expression of ``a.covariate_id`` and ``cn.concept_name`` (the
    concept of that id, joined after aggregation so names cost nothing per row).
    """
    agg = (
        "SELECT cohort_definition_id, covariate_id, COUNT(DISTINCT row_id) AS n "
        f"FROM ({body}) B GROUP BY cohort_definition_id, covariate_id"
    )
    return (
        f"SELECT a.cohort_definition_id, a.covariate_id, {name} AS covariate_name, "
        "'binary' AS kind, a.n, CAST(a.n AS DOUBLE) AS sum_value, "
        "CAST(a.n AS DOUBLE) AS sum_sq_value "
        f"FROM ({agg}) a LEFT JOIN concept cn ON cn.concept_id = a.covariate_id"
    )


def _continuous(body: str, name: str) -> str:
    """Aggregate ``body`` rows ``(cohort_definition_id, row_id, covariate_id, value)``."""
    agg = (
        "SELECT cohort_definition_id, covariate_id, COUNT(*) AS n, "
        "CAST(SUM(value) AS DOUBLE) AS sum_value, "
        "CAST(SUM(CAST(value AS DOUBLE) * value) AS DOUBLE) AS sum_sq_value "
        f"FROM ({body}) C GROUP BY cohort_definition_id, covariate_id"
    )
    return (
        f"SELECT a.cohort_definition_id, a.covariate_id, {name} AS covariate_name, "
        "'continuous' AS kind, a.n, a.sum_value, a.sum_sq_value "
        f"FROM ({agg}) a LEFT JOIN concept cn ON cn.concept_id = a.covariate_id"
    )


def _concept(prefix: str) -> str:
    """A covariate name from its concept (or its id when the vocabulary lacks it)."""
    fallback = "'concept ' || CAST(a.covariate_id AS VARCHAR)"
    return f"{q.text(prefix)} || COALESCE(cn.concept_name, {fallback})"


@dataclass(frozen=True, slots=True)
class Demographics:
    """Age, age group, sex, index year and prior observation at the index date."""

    analysis: str = "demographics"

    def sql(self, rows: str) -> str:
        base = (
            f"SELECT r.cohort_definition_id, r.row_id, r.cohort_start_date, "
            f"{q.year('r.cohort_start_date')} - p.year_of_birth AS age, p.gender_concept_id "
            f"FROM {rows} r JOIN person p ON p.person_id = r.subject_id"
        )
        age = _continuous(
            f"SELECT cohort_definition_id, row_id, 1 AS covariate_id, age AS value FROM ({base}) A",
            q.text("age in years"),
        )
        groups = _binary(
            "SELECT cohort_definition_id, row_id, "
            f"100 + CAST(FLOOR(age / 5.0) AS INTEGER) AS covariate_id FROM ({base}) A",
            "'age group ' || CAST((a.covariate_id - 100) * 5 AS VARCHAR) || '-' || "
            "CAST((a.covariate_id - 100) * 5 + 4 AS VARCHAR)",
        )
        sex = _binary(
            "SELECT cohort_definition_id, row_id, gender_concept_id AS covariate_id "
            f"FROM ({base}) A",
            "'sex: ' || CASE a.covariate_id WHEN 8507 THEN 'male' WHEN 8532 THEN 'female' "
            f"ELSE {_concept('')} END",
        )
        year = _binary(
            "SELECT cohort_definition_id, row_id, "
            f"{q.year('cohort_start_date')} AS covariate_id FROM ({base}) A",
            "'index year ' || CAST(a.covariate_id AS VARCHAR)",
        )
        prior = _continuous(
            "SELECT r.cohort_definition_id, r.row_id, 2 AS covariate_id, "
            f"{q.days_between('op.observation_period_start_date', 'r.cohort_start_date')} AS value "
            f"FROM {rows} r JOIN observation_period op ON op.person_id = r.subject_id "
            "AND r.cohort_start_date >= op.observation_period_start_date "
            "AND r.cohort_start_date <= op.observation_period_end_date",
            q.text("days of observation before index"),
        )
        parts = (age, groups, sex, year, prior)
        return " UNION ALL ".join(f"SELECT {_COLUMNS} FROM ({p}) S" for p in parts)


@dataclass(frozen=True, slots=True)
class ConditionsInWindow:
    """Each condition concept recorded in ``[start, end]`` days around the index date."""

    start: int = -365
    end: int = 0

    @property
    def analysis(self) -> str:
        return f"conditions {self.start}d to {self.end}d"

    def sql(self, rows: str) -> str:
        body = (
            "SELECT r.cohort_definition_id, r.row_id, co.condition_concept_id AS covariate_id "
            f"FROM {rows} r JOIN condition_occurrence co ON co.person_id = r.subject_id "
            f"AND co.condition_start_date >= {q.add_days('r.cohort_start_date', self.start)} "
            f"AND co.condition_start_date <= {q.add_days('r.cohort_start_date', self.end)} "
            "WHERE co.condition_concept_id <> 0"
        )
        return _binary(body, _concept("condition: "))


@dataclass(frozen=True, slots=True)
class DrugsInWindow:
    """Each drug (ingredient era, or exposure concept) overlapping the window."""

    start: int = -365
    end: int = 0
    source: str = "drug_era"  # or "drug_exposure"

    @property
    def analysis(self) -> str:
        return f"drugs {self.start}d to {self.end}d"

    def sql(self, rows: str) -> str:
        if self.source == "drug_era":
            table, s, e = "drug_era", "drug_era_start_date", "drug_era_end_date"
        else:
            table, s, e = "drug_exposure", "drug_exposure_start_date", "drug_exposure_start_date"
        body = (
            "SELECT r.cohort_definition_id, r.row_id, d.drug_concept_id AS covariate_id "
            f"FROM {rows} r JOIN {table} d ON d.person_id = r.subject_id "
            f"AND d.{s} <= {q.add_days('r.cohort_start_date', self.end)} "
            f"AND d.{e} >= {q.add_days('r.cohort_start_date', self.start)} "
            "WHERE d.drug_concept_id <> 0"
        )
        return _binary(body, _concept("drug: "))


@dataclass(frozen=True, slots=True)
class CharlsonIndex:
    """Charlson comorbidity index (Quan 2005 codes) from all conditions up to index."""

    analysis: str = "comorbidity"

    def sql(self, rows: str) -> str:
        cats = (
            "SELECT DISTINCT r.cohort_definition_id, r.row_id, cc.category_id "
            f"FROM {rows} r JOIN condition_occurrence co ON co.person_id = r.subject_id "
            "AND co.condition_start_date <= r.cohort_start_date "
            f"JOIN ({charlson.category_concepts_sql()}) cc "
            "ON cc.concept_id = co.condition_concept_id "
            "OR cc.concept_id = co.condition_source_concept_id"
        )
        names = " ".join(f"WHEN {1000 + c.id} THEN {q.text(c.name)}" for c in charlson.CATEGORIES)
        per_cat = _binary(
            "SELECT cohort_definition_id, row_id, 1000 + category_id AS covariate_id "
            f"FROM ({cats}) K",
            f"'Charlson: ' || CASE a.covariate_id {names} END",
        )
        score = charlson.score_sql("K")
        index = _continuous(
            "SELECT r.cohort_definition_id, r.row_id, 1000 AS covariate_id, "
            "COALESCE(s.score, 0) AS value "
            f"FROM {rows} r LEFT JOIN (WITH K AS ({cats}) {score}) s ON s.row_id = r.row_id",
            q.text("Charlson comorbidity index"),
        )
        return f"SELECT {_COLUMNS} FROM ({index}) I UNION ALL SELECT {_COLUMNS} FROM ({per_cat}) P"


@dataclass(frozen=True, slots=True)
class Utilization:
    """Visits in ``[start, end]`` days around index: all, and by visit concept."""

    start: int = -365
    end: int = -1

    @property
    def analysis(self) -> str:
        return f"visits {self.start}d to {self.end}d"

    def sql(self, rows: str) -> str:
        visits = (
            "SELECT r.cohort_definition_id, r.row_id, v.visit_concept_id "
            f"FROM {rows} r JOIN visit_occurrence v ON v.person_id = r.subject_id "
            f"AND v.visit_start_date >= {q.add_days('r.cohort_start_date', self.start)} "
            f"AND v.visit_start_date <= {q.add_days('r.cohort_start_date', self.end)}"
        )
        total = _continuous(
            "SELECT r.cohort_definition_id, r.row_id, 2000 AS covariate_id, "
            "COUNT(v.row_id) AS value "
            f"FROM {rows} r LEFT JOIN ({visits}) v ON v.row_id = r.row_id "
            "GROUP BY r.cohort_definition_id, r.row_id",
            q.text("number of visits"),
        )
        kinds = f"SELECT DISTINCT visit_concept_id FROM ({visits}) V0"
        by_kind = _continuous(
            "SELECT r.cohort_definition_id, r.row_id, k.visit_concept_id AS covariate_id, "
            "COUNT(v.row_id) AS value "
            f"FROM {rows} r CROSS JOIN ({kinds}) k LEFT JOIN ({visits}) v "
            "ON v.row_id = r.row_id AND v.visit_concept_id = k.visit_concept_id "
            "GROUP BY r.cohort_definition_id, r.row_id, k.visit_concept_id",
            _concept("visits: "),
        )
        return f"SELECT {_COLUMNS} FROM ({total}) T UNION ALL SELECT {_COLUMNS} FROM ({by_kind}) K"


def default_builders(*, drugs_from: str = "drug_era") -> tuple[CovariateBuilder, ...]:
    """The Table 1 analyses: FeatureExtraction's defaults for a baseline table."""
    return (
        Demographics(),
        CharlsonIndex(),
        Utilization(),
        ConditionsInWindow(-365, 0),
        ConditionsInWindow(-30, 0),
        DrugsInWindow(-365, 0, drugs_from),
    )
