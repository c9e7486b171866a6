"""The governance commands end to end, as users run them: accounts, permits, sessions,
two-person review, download, opt-out, transparency, audit verification.

``cli("session tabulate --permit 1 --by sex", SQL, user="rita")`` runs ``bmb`` in this
process as that user (their token in ``BMB_TOKEN``); the first string is split on
spaces, the other arguments are passed as they are.
"""

from __future__ import annotations

import csv
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from bmb.cli.main import run
from bmb.domain.governance.actors import Actor
from bmb.domain.governance.roles import Role
from bmb.engines.lake import open_lake
from bmb.governance import users
from bmb.governance.outputs import get_output
from bmb.service.governed import governance, output_path
from tests.governed_lake import RegionLake, build_region_lake


@pytest.fixture(scope="session")
def region_lake(tmp_path_factory: pytest.TempPathFactory) -> RegionLake:
    return build_region_lake(tmp_path_factory.mktemp("governed_region"))


@dataclass
class Cli:
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch
    db: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def __call__(self, command: str, *args: str, user: str | None = None) -> tuple[int, str, str]:
        self.capsys.readouterr()
        if user is None:
            self.monkeypatch.delenv("BMB_TOKEN", raising=False)
            self.monkeypatch.delenv("BMB_USER", raising=False)
        else:
            self.monkeypatch.setenv("BMB_TOKEN", self.tokens[user])
            self.monkeypatch.setenv("BMB_USER", user)
        code = run([*command.split(), *args])
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def add_user(self, name: str, role: str, by: str | None = "carla") -> None:
        code, out, err = self(f"user add {name} --role {role}", user=by)
        assert code == 0, err
        self.tokens[name] = out.strip().splitlines()[-1]


@pytest.fixture
def cli(
    region_lake: RegionLake,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(region_lake.config))
    monkeypatch.setenv("BMB_LAKE", str(region_lake.root))
    monkeypatch.setenv("BMB_GOVERNANCE_URL", f"sqlite:///{tmp_path / 'governance.db'}")
    monkeypatch.setenv("BMB_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit-ed25519"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(users, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    c = Cli(capsys, monkeypatch, tmp_path / "governance.db")
    c.add_user("carla", "controller", by=None)  # the key holder creates the first controller
    for name, role in [
        ("stefano", "steward"),
        ("sara", "steward"),
        ("rita", "researcher"),
        ("remo", "researcher"),
        ("aldo", "auditor"),
    ]:
        c.add_user(name, role)
    code, _, err = c(
        "project create diab --lead rita",
        "--title",
        "Diabetes pathways",
        "--applicant",
        "Università di Genova",
        user="carla",
    )
    assert code == 0, err
    return c


GRANT = (
    "permit grant --project diab --purpose scientific_research --member rita "
    "--table person --table condition_occurrence --expires 2099-12-31"
)
SEX = "SELECT person_id, CAST(gender_concept_id AS VARCHAR) AS sex FROM person"
TABULATE = "session tabulate --permit 1 --by sex"


def grant(cli: Cli, extra: str = "") -> None:
    code, _, err = cli(f"{GRANT} {extra}", user="carla")
    assert code == 0, err


def test_an_output_leaves_only_after_two_other_reviewers_approve(cli: Cli, tmp_path: Path) -> None:
    grant(cli)
    code, out, err = cli(f"{TABULATE} --out sex.csv", SEX, user="rita")
    assert code == 0, err
    assert "queued for review" in out
    target = tmp_path / "got" / "sex.csv"
    download = f"output download 1 --out {target}"
    assert cli(download, user="rita")[0] == 1  # not released yet
    assert cli("output approve 1", user="rita")[0] == 1  # a researcher reviews nothing
    assert not target.exists()
    assert cli("output approve 1", user="stefano")[0] == 0
    assert cli("output approve 1", user="stefano")[0] == 1  # the same reviewer twice
    assert cli(download, user="rita")[0] == 1  # one approval is not enough
    code, out, _ = cli("output approve 1", user="sara")
    assert "released" in out
    assert cli(download, user="remo")[0] == 1  # not named in the permit
    code, _, err = cli(download, user="rita")
    assert code == 0, err
    rows = list(csv.DictReader(target.open()))
    assert "Total" in {r["sex"] for r in rows}
    assert all(r["n"] == "" or int(r["n"]) > 7 for r in rows)
    code, out, _ = cli("audit log --action output. --json", user="aldo")
    assert code == 0
    for action in ("output.request", "output.review", "output.released", "output.download"):
        assert action in out
    assert '"refused"' in out
    code, out, _ = cli("audit log --action session. --json", user="aldo")
    assert "gender_concept_id" in out  # the source query of the output is in the trail
    assert "session.open" in out
    assert "session.close" in out


def test_a_changed_file_in_the_queue_is_never_delivered(cli: Cli, tmp_path: Path) -> None:
    grant(cli)
    cli(f"{TABULATE} --out s.csv", SEX, user="rita")
    cli("output approve 1", user="stefano")
    cli("output approve 1", user="sara")
    with governance(Path(os.environ["BMB_LAKE"])) as (lake, store):
        info = get_output(store, actor=Actor("aldo", Role.AUDITOR), output_id=1)
        path = output_path(lake, info)
    path.write_text(path.read_text().replace("Total", "Tota1"))
    code, _, err = cli(f"output download 1 --out {tmp_path / 'x.csv'}", user="rita")
    assert code == 1
    assert "changed since it was reviewed" in err


def test_a_prohibited_purpose_is_refused_with_its_article(cli: Cli) -> None:
    code, _, err = cli(GRANT.replace("scientific_research", "marketing"), user="carla")
    assert code == 2
    assert "Art. 54" in err


def test_public_body_purposes_need_a_public_applicant(cli: Cli) -> None:
    code, _, err = cli(GRANT.replace("scientific_research", "official_statistics"), user="carla")
    assert code == 1
    assert "public-sector" in err


def test_an_expired_permit_opens_no_session(cli: Cli) -> None:
    grant(cli, "--starts 2020-01-01")
    code, _, err = cli(
        GRANT.replace("2099-12-31", "2021-01-01") + " --starts 2020-01-01", user="carla"
    )
    assert code == 0, err
    code, _, err = cli("session tabulate --permit 2 --by sex --out s.csv", SEX, user="rita")
    assert code == 1
    assert "expired" in err


def test_the_differencing_attack_fails(cli: Cli) -> None:
    grant(cli)
    everyone = "SELECT person_id, 'all' AS grp FROM condition_occurrence"
    but_one = everyone + " WHERE person_id <> (SELECT min(person_id) FROM condition_occurrence)"
    code, _, err = cli("session tabulate --permit 1 --by grp --out a.csv", everyone, user="rita")
    assert code == 0, err
    code, _, err = cli("session tabulate --permit 1 --by grp --out b.csv", but_one, user="rita")
    assert code == 1
    assert "differencing guard" in err
    code, out, _ = cli("audit log --action output.request --json", user="aldo")
    assert "differencing" in out


def test_free_sql_near_repeats_are_flagged_for_reviewers(cli: Cli) -> None:
    grant(cli)
    q1 = "SELECT count(DISTINCT person_id) AS n FROM condition_occurrence"
    q2 = (
        "SELECT count(DISTINCT person_id) AS m FROM condition_occurrence "
        "WHERE person_id <> (SELECT min(person_id) FROM condition_occurrence)"
    )
    assert cli("session sql --permit 1 --out a.csv", q1, user="rita")[0] == 0
    code, out, err = cli("session sql --permit 1 --out b.csv", q2, user="rita")
    assert code == 0, err
    assert "nearly repeats output 1" in out


def test_opt_out_removes_a_citizen_and_transparency_tells_them(
    cli: Cli, region_lake: RegionLake
) -> None:
    with open_lake(region_lake.root) as e:
        pid = e.query("SELECT min(person_id) FROM person").column(0)[0].as_py()
    with governance(Path(os.environ["BMB_LAKE"])) as (_, store):
        carla = users.get_user(store, "carla").actor()
        users.create_user(store, actor=carla, name="cinzia", role=Role.CITIZEN, person_id=pid)
        cli.tokens["cinzia"] = users.issue_token(store, actor=carla, name="cinzia")
    grant(cli)
    cli(f"{TABULATE} --out s.csv", SEX, user="rita")
    code, out, err = cli("audit transparency --json", user="cinzia")
    assert code == 0, err
    assert '"permit_id": 1' in out
    assert '"purpose": "scientific_research"' in out
    assert cli("optout add", user="cinzia")[0] == 0
    cli(f"{TABULATE} --out t.csv", SEX, user="rita")
    code, out, _ = cli("optout status --json", user="cinzia")
    assert '"opted_out": true' in out
    code, out, _ = cli("audit transparency --json", user="cinzia")
    assert '"sessions": 1' in out  # the session after the opt-out does not count
    assert cli("optout withdraw", user="cinzia")[0] == 0
    code, out, _ = cli("optout status --json", user="cinzia")
    assert out.count('"opted_out"') == 3  # the state and two events of history
    code, _, _ = cli("audit transparency --fiscal-code RSSMRA80A01D969Z", user="cinzia")
    assert code == 1  # a citizen asks only about themselves


def test_audit_verify_detects_tampering(cli: Cli) -> None:
    grant(cli)
    assert cli("audit checkpoint", user="carla")[0] == 0
    code, out, _ = cli("audit verify", user="aldo")
    assert code == 0
    assert "intact" in out
    with sqlite3.connect(cli.db) as con:
        changed = con.execute("UPDATE audit_events SET actor = 'nobody' WHERE seq = 3")
        assert changed.rowcount == 1
    code, out, _ = cli("audit verify --json", user="aldo")
    assert code == 1, out
    assert '"kind": "changed"' in out


def test_roles_that_may_not_are_refused_on_the_command_line(cli: Cli) -> None:
    assert cli("user add x1 --role steward", user="stefano")[0] == 1
    assert cli("audit verify", user="rita")[0] == 1
    assert cli("permit revoke 1 --reason r", user="aldo")[0] == 1
    code, _, err = cli("user whoami")
    assert code == 2
    assert "BMB_USER" in err


def test_lake_sql_needs_a_steward_once_users_exist(cli: Cli) -> None:
    query = "SELECT count(*) FROM person"
    assert cli("sql", query, user="rita")[0] == 1
    code, _, err = cli("sql", query, user="stefano")
    assert code == 0, err
    code, out, _ = cli("audit log --action lake.sql --json", user="aldo")
    assert query in out


def test_whole_lake_analytics_need_a_steward_once_users_exist(cli: Cli) -> None:
    assert cli("registry build --no-save", user="rita")[0] == 1
    assert cli("registry build --no-save")[0] == 2  # nobody named: who is acting?
    code, _, err = cli("registry build --no-save", user="stefano")
    assert code == 0, err
    code, out, _ = cli("audit log --action lake.analyze --json", user="aldo")
    assert '"bmb registry build"' in out
    assert '"refused"' in out
    assert '"ok"' in out


def test_every_governance_command_has_help_with_an_example(cli: Cli) -> None:
    groups = {
        "user": ["add", "list", "disable", "token", "revoke-token", "password", "whoami"],
        "project": ["create", "list"],
        "permit": ["grant", "list", "show", "revoke", "purposes"],
        "optout": ["add", "withdraw", "status"],
        "session": ["sql", "tabulate", "extract", "tables"],
        "output": ["list", "show", "approve", "reject", "return", "download"],
        "audit": ["verify", "log", "checkpoint", "transparency"],
    }
    for group, verbs in groups.items():
        for verb in verbs:
            code, out, _ = cli(f"{group} {verb} --help")
            assert code == 0
            assert "Example" in out, f"bmb {group} {verb} --help has no example"


def test_init_creates_the_store_and_the_signing_key_outside_the_lake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("BMB_GOVERNANCE_URL", raising=False)
    monkeypatch.delenv("BMB_AUDIT_KEY_FILE", raising=False)
    monkeypatch.setattr(users, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    lake = tmp_path / "lake"
    assert run(["init", str(lake)]) == 0
    assert (lake / "governance.db").is_file()
    keys = sorted(p.name for p in (tmp_path / "config" / "bmb" / "keys").iterdir())
    assert any(k.endswith(".audit-ed25519") for k in keys)
    assert any(k.endswith(".audit-ed25519.pub") for k in keys)
    capsys.readouterr()
    # No users yet: the lake is ungoverned and its operating-system account may verify.
    assert run(["audit", "verify", "--lake", str(lake)]) == 0
    assert "intact" in capsys.readouterr().out
    assert run(["user", "add", "carla", "--role", "controller", "--lake", str(lake)]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    monkeypatch.setenv("BMB_TOKEN", token)
    assert run(["audit", "checkpoint", "--lake", str(lake)]) == 0
    capsys.readouterr()
    assert run(["audit", "log", "--json", "--lake", str(lake)]) == 0
    out = capsys.readouterr().out
    for action in ("lake.init", "user.bootstrap", "token.issue", "audit.checkpoint"):
        assert action in out
    assert run(["audit", "verify", "--lake", str(lake)]) == 0
    assert "1/1 checkpoints verified" in capsys.readouterr().out
