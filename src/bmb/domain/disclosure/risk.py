"""Re-identification risk of a person-level extract: prosecutor, journalist, marketer.

The three attacker models of the statistical disclosure literature (El Emam; ARX):

* prosecutor: the attacker knows their target is in the extract; the risk of a person
  is one over the size of their class in the extract.
* journalist: the attacker does not know who is in the extract and matches it against
  an identification database of the whole population; the risk of a person is one over
  the size of their class in the population. BMB has that population (the region's
  residents in the lake), so it measures it on the quasi-identifiers the population
  shares (age, sex, place), rather than estimating it from a sample.
* marketer: the share of the extract an attacker re-identifies on average when
  matching everyone (the mean journalist risk).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RiskReport:
    """Re-identification risks of one extract (0..1; 0 for an empty extract)."""

    persons: int
    classes: int
    prosecutor_max: float
    prosecutor_mean: float
    prosecutor_share_above: float  # share of persons whose risk exceeds 1/k
    journalist_max: float | None
    journalist_mean: float | None
    marketer: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "persons": self.persons,
            "classes": self.classes,
            "prosecutor_max": self.prosecutor_max,
            "prosecutor_mean": self.prosecutor_mean,
            "prosecutor_share_above_threshold": self.prosecutor_share_above,
            "journalist_max": self.journalist_max,
            "journalist_mean": self.journalist_mean,
            "marketer": self.marketer,
        }


def measure_risk(
    class_sizes: list[int], population_sizes: list[int] | None, *, k: int
) -> RiskReport:
    """Risks from each person's class size in the extract (and in the population).

    ``class_sizes`` has one entry per person: the size of that person's class.
    ``population_sizes`` likewise gives the size of the matching population class
    (at least the extract's class size, since the extract is part of the population).
    """
    n = len(class_sizes)
    if n == 0:
        return RiskReport(0, 0, 0.0, 0.0, 0.0, None, None, None)
    risks = [1.0 / f for f in class_sizes]
    classes = round(sum(risks))  # each class contributes f * (1/f) = 1
    above = sum(1 for r in risks if r > 1.0 / k + 1e-12) / n
    jmax = jmean = marketer = None
    if population_sizes is not None:
        pop = [max(big, small) for big, small in zip(population_sizes, class_sizes, strict=True)]
        jrisks = [1.0 / f for f in pop]
        jmax = max(jrisks)
        jmean = sum(jrisks) / n
        marketer = jmean
    return RiskReport(
        persons=n,
        classes=classes,
        prosecutor_max=max(risks),
        prosecutor_mean=sum(risks) / n,
        prosecutor_share_above=above,
        journalist_max=jmax,
        journalist_mean=jmean,
        marketer=marketer,
    )
