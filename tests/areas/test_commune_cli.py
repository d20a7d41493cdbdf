"""The commune commands of a deployment serving several communes, run as the installed `civic` command in
processes of their own on a freshly migrated database: an operator account, communes created and listed,
a commune admin invited, a merge, and `civic audit verify` checking both chains and their link."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.test_cli_commands import PASSWORD, Site


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory) -> Path:
    """One database migrated by `civic migrate` in its own process; each test gets a copy."""
    template = Site(tmp_path_factory.mktemp("communes"))
    template.ok("migrate")
    return template.db


@pytest.fixture
def site(migrated_db: Path, tmp_path: Path) -> Site:
    fresh = Site(tmp_path)
    shutil.copy(migrated_db, fresh.db)
    return fresh


def _two(site: Site) -> None:
    site.ok("commune", "create", "--code", "NS", "--name", "Nhạo Sơn", "--province", "Phú Thọ")
    site.ok("commune", "create", "--code", "TB", "--name", "Tân Bình", "--province", "Thái Bình")


def test_operator_account_and_commune_list(site):
    _two(site)
    out = site.ok("create-user", "--phone", "0911000111", "--name", "Sở Nội Vụ", "--password", PASSWORD,
                  "--role", "operator")
    assert "as operator" in out
    assert site.rows("SELECT role FROM role_grant") == [("operator",)]
    listed = site.ok("commune", "list")
    assert listed.splitlines() == ["NS\tNhạo Sơn\txa\tPhú Thọ", "TB\tTân Bình\txa\tThái Bình"]


def test_invite_admin_prints_a_code_once_and_stores_its_hash(site):
    _two(site)
    out = site.ok("commune", "invite-admin", "--commune", "tb", "--phone", "0911222333", "--name", "Lê Quản")
    code = re.search(r"code: ([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})", out)
    assert code and f"/c/TB/invite/{code.group(1)}" in out
    rows = site.rows("SELECT role, commune_id, code_hash FROM invitation")
    assert len(rows) == 1 and rows[0][0] == "admin" and code.group(1) not in rows[0][2]
    line = site.refused("commune", "invite-admin", "--commune", "ZZ", "--phone", "0911222333", "--name", "A")
    assert "ZZ" in line
    site.refused("commune", "invite-admin", "--commune", "TB", "--phone", "12", "--name", "A")
    assert len(site.rows("SELECT id FROM invitation")) == 1


def test_merge_then_verify_checks_both_chains_and_the_link(site):
    _two(site)
    out = site.ok("commune", "merge", "--from", "tb", "--into", "ns", "--on", "2026-07-01")
    assert "TB merged into NS from 2026-07-01" in out and "đã nhập vào NS" in out
    assert site.rows("SELECT code, merged_into_id, merged_on FROM commune ORDER BY id") == [
        ("NS", None, None), ("TB", 1, "2026-07-01")]
    assert site.rows("SELECT commune_id, closed FROM audit_head ORDER BY commune_id") == [(1, 0), (2, 1)]
    verified = site.ok("audit", "verify")
    assert "TB: closed, merged into NS; NS's chain records its final head" in verified
    assert "NS: chain intact" in verified
    listed = site.ok("commune", "list")
    assert "merged into NS on 2026-07-01" in listed
    # Merged already, into itself, a bad date, an unknown commune: refused, nothing changes.
    assert "merged already" in site.refused("commune", "merge", "--from", "TB", "--into", "NS", "--on",
                                            "2026-08-01")
    assert "itself" in site.refused("commune", "merge", "--from", "NS", "--into", "NS", "--on", "2026-08-01")
    assert "YYYY-MM-DD" in site.refused("commune", "merge", "--from", "NS", "--into", "TB", "--on", "1/7/26")
    site.refused("commune", "merge", "--from", "XX", "--into", "NS", "--on", "2026-08-01")
    assert site.rows("SELECT count(*) FROM audit_event WHERE action LIKE 'commune_merged%'") == [(2,)]


def test_verify_fails_when_the_link_is_tampered_with(site):
    _two(site)
    site.ok("commune", "merge", "--from", "TB", "--into", "NS", "--on", "2026-07-01")
    with sqlite3.connect(site.db) as conn:  # the receiving chain's record of the closed head is rewritten
        conn.execute("UPDATE audit_event SET payload = replace(payload, '\"closed_seq\":', "
                     "'\"closed_seq\":1') WHERE action = 'commune_merged_from'")
    run = site.run("audit", "verify")
    assert run.returncode == 1
    assert "NS: BROKEN" in run.stderr and "TB: BROKEN merge link" in run.stderr
