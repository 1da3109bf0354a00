"""The sign-in file: where it lives, who may read it, and that no crash can tear it."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import filelock
import pytest

from parallel_account._errors import (
    CorruptTokenFileError,
    InsecureTokenFileError,
    InvalidRequestError,
    TokenStoreError,
)
from parallel_account.signin._store import SignInRecord, TokenStore, config_dir, resolve_profile

# The token store reads no spec: run once, not again on the superset spec.
pytestmark = pytest.mark.spec_independent

OLD = SignInRecord(
    client_id="client-1",
    platform_url="https://platform.parallel.ai",
    access_token="old-access-secret",
    refresh_token="old-refresh-secret",
    scope="keys:read",
    org_id="org_1",
    org_name="Acme",
    access_token_expires_at=1_700_003_600,
    refresh_token_expires_at=1_700_086_400,
)
NEW = SignInRecord(
    client_id="client-1",
    platform_url="https://platform.parallel.ai",
    access_token="new-access-secret",
    refresh_token="new-refresh-secret",
)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never the real ~/.config: HOME and XDG_CONFIG_HOME point into tmp_path."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("PARALLEL_ACCOUNT_PROFILE", raising=False)


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    return TokenStore(directory=tmp_path / "store")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- where ----------------------------------------------------------------


def test_location_follows_xdg_config_home(tmp_path: Path) -> None:
    assert TokenStore().path == tmp_path / "xdg" / "parallel-account" / "default.json"


def test_location_defaults_to_dot_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert config_dir() == tmp_path / "home" / ".config" / "parallel-account"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")  # the XDG spec says: ignore it
    assert config_dir() == tmp_path / "home" / ".config" / "parallel-account"


def test_profile_from_argument_then_environment_then_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert resolve_profile(None) == "default"
    monkeypatch.setenv("PARALLEL_ACCOUNT_PROFILE", "staging")
    assert resolve_profile(None) == "staging"
    assert resolve_profile("work.eu-1_b") == "work.eu-1_b"
    assert TokenStore().path.name == "staging.json"


@pytest.mark.parametrize(
    "name", ["", ".", "..", "../x", "a/b", "a\\b", ".hidden", "a\nb", "é", "x" * 65, "a b"]
)
def test_profile_names_that_could_be_paths_are_refused(name: str) -> None:
    with pytest.raises(InvalidRequestError, match="not a profile name"):
        TokenStore(name)


def test_a_bad_profile_in_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARALLEL_ACCOUNT_PROFILE", "../../etc")
    with pytest.raises(InvalidRequestError, match=r"\$PARALLEL_ACCOUNT_PROFILE"):
        TokenStore()


# ---- write and read ---------------------------------------------------------


def test_round_trip_with_private_modes(store: TokenStore) -> None:
    assert store.load() is None
    with store.lock():
        store.save(OLD)
    assert store.load() == OLD
    assert _mode(store.path) == 0o600
    assert _mode(store.directory) == 0o700
    assert [p.name for p in store.directory.iterdir() if p.suffix == ".tmp"] == []


def test_times_are_epoch_seconds_in_the_file(store: TokenStore) -> None:
    store.save(OLD)
    text = store.path.read_text()
    assert '"access_token_expires_at": 1700003600' in text
    assert '"version": 1' in text


def test_repr_never_shows_a_token(store: TokenStore) -> None:
    store.save(OLD)
    shown = repr(OLD) + str(OLD) + repr(store) + repr(store.load())
    assert "secret" not in shown
    assert "client-1" in shown and "org_1" in shown


def test_delete(store: TokenStore) -> None:
    assert store.delete() is False
    store.save(OLD)
    assert store.delete() is True
    assert not store.path.exists()


# ---- refusing files that cannot be trusted ----------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606])
def test_a_file_open_to_others_is_refused_with_the_chmod_fix(store: TokenStore, mode: int) -> None:
    store.save(OLD)
    os.chmod(store.path, mode)
    with pytest.raises(InsecureTokenFileError) as caught:
        store.load()
    assert f"chmod 600 {store.path}" in str(caught.value)
    assert "secret" not in str(caught.value)
    os.chmod(store.path, 0o600)  # the fix it gives works
    assert store.load() == OLD


def test_a_directory_writable_by_others_is_refused(store: TokenStore) -> None:
    store.save(OLD)
    os.chmod(store.directory, 0o777)  # noqa: S103 (the insecure case under test)
    with pytest.raises(InsecureTokenFileError, match=f"chmod 700 {store.directory}"):
        store.save(NEW)
    assert (store.directory / "default.json").read_text() == OLD.to_json()


def test_a_symlink_in_place_of_the_file_is_refused(store: TokenStore, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(OLD.to_json())
    elsewhere.chmod(0o600)
    store.directory.mkdir(mode=0o700)
    store.path.symlink_to(elsewhere)
    with pytest.raises(TokenStoreError, match="symlink"):
        store.load()


@pytest.mark.parametrize(
    "content",
    [
        OLD.to_json()[:40].encode(),  # truncated
        b"",
        b"\xff\xfe garbage",
        b"[1, 2]",
        b'{"version": 1}',
        b'{"version": 2, "client_id": "c"}',
        OLD.to_json().replace('"client-1"', "17").encode(),
        OLD.to_json().replace("1700003600", '"tomorrow"').encode(),
    ],
)
def test_a_corrupt_file_is_an_error_naming_it_and_is_left_alone(
    store: TokenStore, content: bytes
) -> None:
    store.directory.mkdir(mode=0o700)
    store.path.write_bytes(content)
    store.path.chmod(0o600)
    with pytest.raises(CorruptTokenFileError) as caught:
        store.load()
    assert str(store.path) in str(caught.value)
    assert "secret" not in str(caught.value)
    assert store.path.read_bytes() == content


# ---- crashes and interruptions ----------------------------------------------

_BLOCKED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from parallel_account.signin._store import SignInRecord, TokenStore

    def block(*args, **kwargs):
        print("blocked", flush=True)
        time.sleep(120)

    setattr(os, sys.argv[1], block)
    TokenStore(directory=Path(sys.argv[2])).save(
        SignInRecord(client_id="c", platform_url="https://platform.parallel.ai",
                     access_token="new-access-secret", refresh_token="new-refresh-secret")
    )
    """
)


@pytest.mark.parametrize("stage", ["fsync", "replace"])
def test_sigkill_in_the_middle_of_a_write_leaves_the_old_file(
    store: TokenStore, stage: str
) -> None:
    store.save(OLD)
    before = store.path.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", _BLOCKED_WRITER, stage, str(store.directory)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "blocked\n"
        # The new content is written to the temp file by now: the kill lands mid-write.
        temps = [p for p in store.directory.iterdir() if p.suffix == ".tmp"]
        assert len(temps) == 1 and b"new-access-secret" in temps[0].read_bytes()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert store.path.read_bytes() == before
    assert store.load() == OLD


def test_ctrl_c_during_a_write_leaves_the_old_file_and_no_temp(
    store: TokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(OLD)

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.save(NEW)
    monkeypatch.undo()
    assert store.load() == OLD
    assert [p.name for p in store.directory.iterdir() if p.suffix == ".tmp"] == []


def test_the_lock_is_cross_process_and_times_out_with_a_clear_error(store: TokenStore) -> None:
    with store.lock():
        pass  # creates the directory and the lock file
    # A separate FileLock object takes its own flock, exactly like another process would.
    other = filelock.FileLock(str(store.lock_path))
    with (
        other,
        pytest.raises(TokenStoreError, match="another process") as caught,
        store.lock(timeout=0.1),
    ):
        pass
    assert caught.value.path == store.lock_path
    with store.lock(timeout=0.1):
        pass  # free again


# ---- hostile content (issue 10) ---------------------------------------------

_GOOD = OLD.to_json()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        pytest.param(b"[" * 30_000 + b"]" * 30_000, "nested", id="deep-nesting"),
        pytest.param(
            _GOOD.replace("1700003600", "9" * 5000).encode(), "digits", id="5000-digit-number"
        ),
        pytest.param(
            _GOOD.replace('"version": 1', '"version": ' + "7" * 5000).encode(),
            "digits",
            id="5000-digit-version",
        ),
        pytest.param(_GOOD.replace("1700003600", "1e20").encode(), "epoch", id="float-expiry"),
        pytest.param(
            _GOOD.replace("1700003600", str(10**20)).encode(), "epoch", id="expiry-past-9999"
        ),
        pytest.param(_GOOD.replace("1700003600", "-5").encode(), "epoch", id="negative-expiry"),
        pytest.param(_GOOD.replace("1700003600", "true").encode(), "epoch", id="bool-expiry"),
        pytest.param(_GOOD.replace("1700003600", "NaN").encode(), "NaN", id="nan-expiry"),
        pytest.param(
            _GOOD.replace('"org_1"', '"\\ud800"').encode(), "Unicode", id="lone-surrogate"
        ),
        pytest.param(
            _GOOD.replace('"old-access-secret"', '"a\\nb"').encode(), "access_token", id="newline"
        ),
        pytest.param(
            _GOOD.replace('"old-access-secret"', '["x"]').encode(), "access_token", id="wrong-type"
        ),
        pytest.param(b"\xc3\x28 not utf-8", "UTF-8", id="invalid-utf-8"),
        pytest.param(b"{}" + b" " * (2 * 1024 * 1024), "larger than", id="huge-file"),
    ],
)
def test_any_content_is_a_clear_error_naming_the_file(
    store: TokenStore, content: bytes, why: str
) -> None:
    store.directory.mkdir(mode=0o700)
    store.path.write_bytes(content)
    store.path.chmod(0o600)
    with pytest.raises(CorruptTokenFileError) as caught:
        store.load()
    message = str(caught.value)
    assert str(store.path) in message and why in message, message
    assert len(message) < 600 and "secret" not in message
    assert store.path.read_bytes() == content


def test_deep_nesting_in_the_text_itself_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorruptTokenFileError, match="nested"):
        SignInRecord.from_json("[" * 100_000 + "]" * 100_000, path=tmp_path / "x.json")


def test_the_read_is_bounded(store: TokenStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.directory.mkdir(mode=0o700)
    store.path.write_bytes(b" " * (8 * 1024 * 1024))
    store.path.chmod(0o600)
    sizes: list[int] = []
    real_read = os.read

    def read(fd: int, n: int) -> bytes:
        sizes.append(n)
        return real_read(fd, n)

    monkeypatch.setattr(os, "read", read)
    with pytest.raises(CorruptTokenFileError, match="larger than"):
        store.load()
    assert sizes and sum(sizes) <= 1024 * 1024 + 1


def test_a_file_of_another_user_is_refused_with_the_chown_fix(
    store: TokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(OLD)
    me = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: me + 4242)
    with pytest.raises(InsecureTokenFileError) as caught:
        store.load()
    message = str(caught.value)
    assert "another user" in message and "chown" in message and str(store.directory) in message


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_file_really_owned_by_another_user_is_refused(store: TokenStore) -> None:
    store.save(OLD)
    os.chown(store.path, 4242, 4242)
    with pytest.raises(InsecureTokenFileError, match=f"chown .* {store.path}"):
        store.load()


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o707, 0o1777])
def test_a_directory_writable_by_others_is_refused_on_read_too(
    store: TokenStore, mode: int
) -> None:
    store.save(OLD)
    os.chmod(store.directory, mode)
    with pytest.raises(InsecureTokenFileError, match=f"chmod 700 {store.directory}"):
        store.load()
    os.chmod(store.directory, 0o700)  # the fix it gives works
    assert store.load() == OLD


def test_a_fifo_in_place_of_the_file_is_refused_without_blocking(store: TokenStore) -> None:
    store.directory.mkdir(mode=0o700)
    os.mkfifo(store.path, 0o600)
    signal.alarm(10)  # a blocking open would hang the suite
    try:
        with pytest.raises(TokenStoreError, match="not a regular file"):
            store.load()
    finally:
        signal.alarm(0)
