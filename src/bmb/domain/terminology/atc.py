"""Names of the ATC classes above the substances BMB ships (WHO ATC index).

Only the anatomical main groups and the classes of the drugs in
``bmb.domain.vocab.drugs()`` are listed; a class without a name here is named by its
code until an OHDSI vocabulary with the full ATC is loaded.
"""

from __future__ import annotations

from types import MappingProxyType

ATC_CLASSES = MappingProxyType(
    {
        "A": "Alimentary tract and metabolism",
        "B": "Blood and blood forming organs",
        "C": "Cardiovascular system",
        "D": "Dermatologicals",
        "G": "Genito urinary system and sex hormones",
        "H": "Systemic hormonal preparations, excluding sex hormones and insulins",
        "J": "Antiinfectives for systemic use",
        "L": "Antineoplastic and immunomodulating agents",
        "M": "Musculo-skeletal system",
        "N": "Nervous system",
        "P": "Antiparasitic products, insecticides and repellents",
        "R": "Respiratory system",
        "S": "Sensory organs",
        "V": "Various",
        "A02": "Drugs for acid related disorders",
        "A10": "Drugs used in diabetes",
        "A10A": "Insulins and analogues",
        "A10B": "Blood glucose lowering drugs, excl. insulins",
        "B01": "Antithrombotic agents",
        "B01A": "Antithrombotic agents",
        "B03": "Antianemic preparations",
        "C01": "Cardiac therapy",
        "C03": "Diuretics",
        "C07": "Beta blocking agents",
        "C08": "Calcium channel blockers",
        "C09": "Agents acting on the renin-angiotensin system",
        "C10": "Lipid modifying agents",
        "H03": "Thyroid therapy",
        "H03A": "Thyroid preparations",
        "J01": "Antibacterials for systemic use",
        "L01": "Antineoplastic agents",
        "L02": "Endocrine therapy",
        "M01": "Antiinflammatory and antirheumatic products",
        "M05": "Drugs for treatment of bone diseases",
        "N02": "Analgesics",
        "N04": "Anti-parkinson drugs",
        "N05": "Psycholeptics",
        "N06": "Psychoanaleptics",
        "N06A": "Antidepressants",
        "N06D": "Anti-dementia drugs",
        "R03": "Drugs for obstructive airway diseases",
    }
)


def atc_levels(code: str) -> list[str]:
    """The ATC code and its ancestors, broadest first (A, A10, A10B, A10BA, A10BA02)."""
    cuts = (1, 3, 4, 5, 7)
    return [code[:n] for n in cuts if n <= len(code)]
