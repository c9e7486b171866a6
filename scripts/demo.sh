#!/usr/bin/env bash
# make demo: synthesize a small region, build a lake from it, show what a steward sees.
set -euo pipefail
OUT="${1:-demo-out}"
BMB="${BMB:-.venv/bin/bmb}"
PERSONS="${DEMO_PERSONS:-20000}"
rm -rf "$OUT"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
export XDG_CONFIG_HOME="$OUT/config"   # the demo's key lives here, outside the lake
start=$(date +%s)

echo "== 1. Synthesize a region: $PERSONS persons, 2024-2025, 1% bad records"
"$BMB" synth --persons "$PERSONS" --years 2024-2025 --seed 7 --error-rate 0.01 --out "$OUT/region"

echo
echo "== 2. Create the lake"
"$BMB" init "$OUT/lake"

echo
echo "== 3. Ingest every flow"
"$BMB" ingest "$OUT/region/flows" --lake "$OUT/lake"

echo
echo "== 4. What the lake holds"
"$BMB" status --lake "$OUT/lake"

echo
echo "== 5. A query: residents with type 2 diabetes by age band (ICD-9-CM 250 and descendants)"
"$BMB" sql --lake "$OUT/lake" "
SELECT CASE WHEN 2025 - p.year_of_birth < 45 THEN '0-44'
            WHEN 2025 - p.year_of_birth < 65 THEN '45-64'
            WHEN 2025 - p.year_of_birth < 80 THEN '65-79' ELSE '80+' END AS age_band,
       count(DISTINCT p.person_id) AS persons,
       count(DISTINCT c.person_id) AS with_diabetes,
       round(100.0 * count(DISTINCT c.person_id) / count(DISTINCT p.person_id), 1) AS pct
FROM person p
LEFT JOIN (SELECT co.person_id FROM condition_occurrence co
           JOIN concept_ancestor ca ON ca.descendant_concept_id = co.condition_concept_id
           JOIN concept a ON a.concept_id = ca.ancestor_concept_id
           WHERE a.vocabulary_id = 'ICD9CM' AND a.concept_code = '250') c
  ON c.person_id = p.person_id
GROUP BY 1 ORDER BY 1"

echo
echo "== 6. The chronic-condition registry (BDA-style rules), checked against the generator's truth"
"$BMB" registry build --lake "$OUT/lake" --truth "$OUT/region/truth"

echo
echo "== 7. The stratification pyramid and the planners' report"
"$BMB" stratify --lake "$OUT/lake"
"$BMB" report planning --lake "$OUT/lake" --out "$OUT/planning.html"

echo
echo "== 8. The audit trail of everything above"
"$BMB" audit verify --lake "$OUT/lake"

end=$(date +%s)
echo
echo "Demo finished in $((end - start)) s. Lake: $OUT/lake   Report: $OUT/planning.html"
echo "Try: $BMB sql --lake $OUT/lake \"SELECT count(*) FROM drug_exposure\""
