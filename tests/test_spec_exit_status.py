"""One meaning per exit status across the `spec` commands: the table in
parallel_account_drift.exit_status is the only place a status is defined, and every
command's help states its statuses from it; one spec-error family (parallel_account_drift
.errors) for the drift checker and codegen, each error carrying the status it ends with."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from parallel_account_drift import errors, exit_status
from parallel_account_drift.cli import main as drift_main
from parallel_account_drift.exit_status import ExitStatus, help_text

from codegen import naming, spec, surface, untrusted, workflow
from parallel_account.cli import main as cli_main
from tests.support import ROOT

# Only the package's own text: run once, not again on the superset spec.
pytestmark = pytest.mark.spec_independent

_STATED: re.Pattern[str] = re.compile(r"Exit status: (.*?)\.(?= |$)")


def _table() -> list[tuple[int, str]]:
    """The (status, NAME) rows of the module docstring's table."""
    doc = exit_status.__doc__ or ""
    return [
        (int(number), name) for number, name in re.findall(r"^    (\d+) +([A-Z_]+) ", doc, re.M)
    ]


def test_the_docstring_table_is_the_enum() -> None:
    assert _table() == [(status.value, status.name) for status in ExitStatus]


def test_docs_drift_md_has_the_table() -> None:
    # other teams read docs/drift.md, not the module: its table is the enum's, row for row
    text = (ROOT / "docs" / "drift.md").read_text(encoding="utf-8")
    section = text.split("## Exit status", 1)[1]
    rows = re.findall(r"^\| (\d+) \| ([A-Z_]+) \|", section, re.M)
    assert [(int(number), name) for number, name in rows] == _table()


def test_the_numbers_scripts_and_workflows_rely_on() -> None:
    # make's error line (`Error 5`), the tests of spec-update and scripts calling the
    # modules directly read these numbers: changing one is a breaking change.
    assert {status.name: status.value for status in ExitStatus} == {
        "OK": 0,
        "CHANGES": 1,
        "BREAKING": 2,
        "UNREACHABLE": 3,
        "UNUSABLE": 4,
        "GENERATION_FAILED": 5,
        "TESTS_FAILED": 6,
        "USAGE": 64,
        "INTERRUPTED": 130,
    }


def test_meanings_fit_a_comma_separated_list() -> None:
    for status in ExitStatus:
        assert status.meaning and "," not in status.meaning and "." not in status.meaning
    assert help_text([ExitStatus.OK, ExitStatus.USAGE]) == (
        "Exit status: 0 no changes or done, 64 bad usage."
    )


def _drift_help(*args: str) -> Callable[[pytest.CaptureFixture[str]], str]:
    def run(capsys: pytest.CaptureFixture[str]) -> str:
        assert drift_main([*args, "--help"]) == ExitStatus.OK
        return capsys.readouterr().out

    return run


def _account_help(*args: str) -> Callable[[pytest.CaptureFixture[str]], str]:
    def run(capsys: pytest.CaptureFixture[str]) -> str:
        assert cli_main(["spec", *args, "--help"]) == ExitStatus.OK
        return capsys.readouterr().out

    return run


def _workflow_help(command: str) -> Callable[[pytest.CaptureFixture[str]], str]:
    def run(capsys: pytest.CaptureFixture[str]) -> str:
        with pytest.raises(SystemExit) as ended:
            workflow.main([command, "--help"])
        assert ended.value.code == ExitStatus.OK
        return capsys.readouterr().out

    return run


def _codegen_spec_usage(capsys: pytest.CaptureFixture[str]) -> str:
    assert spec._main([]) == ExitStatus.USAGE
    return capsys.readouterr().err


_S = ExitStatus
_REPORTS = {_S.OK, _S.CHANGES, _S.BREAKING}
_DIFF = _REPORTS | {_S.UNUSABLE, _S.USAGE}
_CHECK = _REPORTS | {_S.UNREACHABLE, _S.UNUSABLE, _S.USAGE}
_UPDATE = {_S.OK, _S.UNREACHABLE, _S.UNUSABLE, _S.GENERATION_FAILED, _S.TESTS_FAILED}
# What each command documents: (its help, the statuses it can end with).
COMMANDS: dict[str, tuple[Callable[[pytest.CaptureFixture[str]], str], set[ExitStatus]]] = {
    "drift diff": (_drift_help("diff"), _DIFF),
    "drift check": (_drift_help("check"), _CHECK),
    "drift rules": (_drift_help("rules"), {_S.OK, _S.USAGE}),
    "drift schema": (_drift_help("schema"), {_S.OK, _S.USAGE}),
    "parallel-account spec diff": (_account_help("diff"), _DIFF),
    "parallel-account spec check": (_account_help("check"), _CHECK),
    "codegen.workflow check": (_workflow_help("check"), _CHECK | {_S.INTERRUPTED}),
    "codegen.workflow update": (_workflow_help("update"), _UPDATE | {_S.USAGE, _S.INTERRUPTED}),
    "codegen.spec": (_codegen_spec_usage, {_S.OK, _S.UNREACHABLE, _S.UNUSABLE, _S.USAGE}),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_command_documents_its_statuses_from_the_table(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    show, expected = COMMANDS[command]
    capsys.readouterr()
    text = " ".join(show(capsys).split())  # argparse wraps the epilog
    stated = _STATED.findall(text)
    assert len(stated) == 1, text
    pairs = [item.split(" ", 1) for item in stated[0].split(", ")]
    documented = {ExitStatus(int(number)): meaning for number, meaning in pairs}
    assert documented == {status: status.meaning for status in expected}


def test_the_command_group_states_each_commands_statuses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    assert drift_main(["--help"]) == ExitStatus.OK
    text = " ".join(capsys.readouterr().out.split())
    stated = _STATED.findall(text)
    assert len(stated) == 3  # diff, check, and rules and schema
    for listing in stated:
        for item in listing.split(", "):
            number, meaning = item.split(" ", 1)
            assert ExitStatus(int(number)).meaning == meaning


def test_one_spec_error_family_for_the_checker_and_codegen() -> None:
    assert errors.SpecUnreachableError.__mro__[1] is errors.SpecError
    assert errors.SpecError.exit_status == ExitStatus.UNUSABLE
    assert errors.SpecUnreachableError.exit_status == ExitStatus.UNREACHABLE
    for codegen_error in (untrusted.UnsafeSpecError, naming.NamingError, surface.SurfaceError):
        assert issubclass(codegen_error, errors.SpecError), codegen_error
        assert codegen_error.exit_status == ExitStatus.UNUSABLE
    # Defined once: no module of codegen or the checker declares a SpecError of its own.
    defined = [
        path
        for root in (ROOT / "codegen", ROOT / "overrides" / "parallel_account_drift")
        for path in root.glob("*.py")
        if re.search(r"^class Spec(Unreachable)?Error\b", path.read_text("utf-8"), re.M)
    ]
    assert defined == [ROOT / "overrides" / "parallel_account_drift" / "errors.py"]
