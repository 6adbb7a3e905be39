"""`genlab grade-class --db postgresql+pg8000://...`: the gradebook in a throwaway PostgreSQL server.

The server (initdb/pg_ctl from PATH or /usr/local/bin, /usr/lib/postgresql/*/bin) runs on a unix
socket in a temporary folder and 127.0.0.1 on a free port; as root it runs as ``nobody``
(PostgreSQL refuses root). Without the binaries, the pg8000 driver or a server that starts, the
test is skipped.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from test_grade_class import EXPECTED, make_class, rows, run, stable

DB = "gradebook_test"


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for cand in ["/usr/local/bin/" + name, *sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)]:
        if os.access(cand, os.X_OK):
            return cand
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("pg8000", reason="the pg8000 driver is not installed")
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found")
    prefix: list[str] = []
    user = None
    if os.geteuid() == 0:  # postgres refuses to run as root
        import pwd

        try:
            pw = pwd.getpwnam("nobody")
        except KeyError:
            pytest.skip("running as root and there is no 'nobody' user to run PostgreSQL as")
        runuser = shutil.which("runuser") or shutil.which("setpriv")
        if runuser is None:
            pytest.skip("running as root without runuser/setpriv to drop privileges for PostgreSQL")
        prefix = ([runuser, "-u", "nobody", "--"] if runuser.endswith("runuser")
                  else [runuser, f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups"])
        user = pw
    top = tempfile.mkdtemp(prefix="genlab-pg-")
    os.chmod(top, 0o755)
    data, sock = Path(top) / "data", Path(top) / "sock"
    for d in (data, sock):
        d.mkdir(mode=0o700)
        if user is not None:
            os.chown(d, user.pw_uid, user.pw_gid)
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    started = False

    def sh(*cmd, **kw):
        return subprocess.run([*prefix, *cmd], env=env, cwd=top, capture_output=True, text=True, **kw)

    try:
        r = sh(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", timeout=120)
        if r.returncode:
            pytest.skip(f"initdb failed: {r.stderr.strip()[-300:]}")
        opts = f"-k {sock} -p {port} -h 127.0.0.1 -F -c fsync=off -c shared_buffers=16MB -c max_connections=20"
        r = sh(pg_ctl, "-D", str(data), "-o", opts, "-l", str(sock / "log"), "-w", "-t", "60", "start", timeout=90)
        if r.returncode:
            log = (sock / "log").read_text(errors="replace")[-300:] if (sock / "log").exists() else ""
            pytest.skip(f"PostgreSQL did not start: {r.stdout.strip()[-200:]} {log}")
        started = True
        import pg8000.native

        con = pg8000.native.Connection("postgres", host="127.0.0.1", port=port, database="postgres")
        con.run(f"CREATE DATABASE {DB}")
        con.close()
        yield f"postgresql+pg8000://postgres@127.0.0.1:{port}/{DB}"
    finally:
        if started:
            sh(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(top, ignore_errors=True)


def test_bare_postgresql_url_uses_the_pinned_driver():
    import importlib.util

    from genlab.grading.batch import gradebook_url

    assert gradebook_url("sqlite:////tmp/g.db") == "sqlite:////tmp/g.db"
    assert gradebook_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("pg8000") is not None:
        assert gradebook_url("postgresql://u@h:5432/db") == "postgresql+pg8000://u@h:5432/db"
        assert gradebook_url("postgres://u@h/db") == "postgresql+pg8000://u@h/db"


CLASS3 = ("alice", "bob", "carol")  # 5/5, 2/5, kernel died (0)


def small_class(root: Path) -> Path:
    subs = make_class(root)
    for d in subs.iterdir():
        if d.name not in CLASS3:
            shutil.rmtree(d)
    return subs


def gradebook_scores(url: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        return {s: gb.find_submission_notebook("fixture", "01_fixture", s).score for s in CLASS3}


def row_counts(url: str) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                    for t in ("student", "assignment", "notebook", "grade_cells", "submitted_assignment",
                              "submitted_notebook", "grade")}
    finally:
        engine.dispose()


@pytest.mark.slow
def test_postgres_gradebook_matches_csv_and_sqlite_and_reruns_idempotently(postgres_url, tmp_path, capsys):
    subs = small_class(tmp_path)
    out_pg, out_lite = tmp_path / "pg.csv", tmp_path / "lite.csv"
    lite = "sqlite:///" + str(tmp_path / "lite.db")
    assert run(subs, "--out", out_pg, "--jobs", "2", "--db", postgres_url) == 0
    assert run(subs, "--out", out_lite, "--jobs", "2", "--db", lite) == 0
    table = rows(out_pg)
    assert set(table) == set(CLASS3)
    for s in CLASS3:
        assert (table[s]["score"], table[s]["status"]) == EXPECTED[s], table[s]
        assert "gradebook" not in table[s]["reason"], table[s]  # recording in Postgres did not fail
    assert stable(table) == stable(rows(out_lite))
    pg = gradebook_scores(postgres_url)
    assert pg == gradebook_scores(lite) == {s: float(table[s]["score"]) for s in CLASS3}
    counts = row_counts(postgres_url)
    assert counts["student"] == 3 and counts["submitted_notebook"] == 3 and counts["grade"] > 0
    # resume: nothing to grade; --force: graded again into the same rows, same scores
    capsys.readouterr()
    bare = postgres_url.replace("postgresql+pg8000://", "postgresql://")  # driver chosen by gradebook_url
    assert run(subs, "--out", out_pg, "--db", bare) == 0
    assert "0 to grade" in capsys.readouterr().err
    assert run(subs, "--out", out_pg, "--jobs", "2", "--force", "--db", postgres_url) == 0
    assert stable(rows(out_pg)) == stable(table)
    assert gradebook_scores(postgres_url) == pg
    assert row_counts(postgres_url) == counts
