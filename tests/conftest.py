"""Shared fixtures: every test starts from a known content tree and a clean environment."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from kb import cli, territories
from kb.config import SETTINGS

FIXTURES = Path(__file__).parent / "fixtures"

# Settings read from the environment (kb/config.py): a developer's own values must not leak
# into the tests.
_SETTINGS_ENV = tuple(s.env for s in SETTINGS if s.env) + ("KB_CONFIG",)


@pytest.fixture(autouse=True)
def _clean_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _no_configured_territories() -> None:
    """`kb` commands and the web app set where the QPV list is: no test inherits that."""
    territories.configure(None, None)
    yield
    territories.configure(None, None)


@pytest.fixture
def make_tree(tmp_path: Path) -> Callable[..., Path]:
    """Write a content tree under `tmp_path/content` and return its root.

    `make_tree({"centre/_centre.md": "...", "centre/bilan.pdf": b"..."})`: text is written
    as UTF-8 exactly as given (no newline translation), bytes as they are. Calling it again
    adds files to the same tree.
    """

    def make(files: Mapping[str, str | bytes], root: str = "content") -> Path:
        base = tmp_path / root
        base.mkdir(parents=True, exist_ok=True)
        for relative, data in files.items():
            target = base / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                target.write_bytes(data)
            else:
                target.write_bytes(data.encode("utf-8"))
        return base

    return make


@pytest.fixture
def copy_fixture(tmp_path: Path) -> Callable[[str], Path]:
    """Copy `tests/fixtures/<name>` into tmp_path, so that a test may change it."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(FIXTURES / name, target, symlinks=True)
        return target

    return copy


@dataclass(frozen=True)
class KbRun:
    code: int
    out: str
    err: str


@pytest.fixture
def run_kb(capsys: pytest.CaptureFixture[str]) -> Callable[..., KbRun]:
    """Run `kb ARGS...` in-process; usage errors (argparse's SystemExit) become exit codes."""

    def run(*args: str | Path) -> KbRun:
        capsys.readouterr()  # forget what earlier steps of the test printed
        try:
            code = cli.main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return KbRun(code, captured.out, captured.err)

    return run


# --- The web app (tests/test_webapp_*.py, tests/browser/) ----------------------------------
# One content tree and index for the whole session (tests/webapp_support.py); tests that
# change content build their own.


@pytest.fixture(scope="session")
def webapp_site(tmp_path_factory: pytest.TempPathFactory):
    from webapp_support import build_site

    return build_site(tmp_path_factory.mktemp("webapp"))


@pytest.fixture(scope="session")
def web_app(webapp_site):
    from webapp import create_app

    with pytest.MonkeyPatch.context() as patch:  # a developer's KB_* must not leak in
        for name in _SETTINGS_ENV:
            patch.delenv(name, raising=False)
        return create_app(webapp_site.config())


@pytest.fixture
def web_client(web_app):
    return web_app.test_client()
