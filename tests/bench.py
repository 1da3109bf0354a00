"""`make bench`: the client's overhead as ratios against bare httpx, measured in the same run.

Each figure is a median over repeated rounds; each round times the client and the
baseline back to back, so machine noise hits both. Nothing here asserts: targets
are printed beside the figures, and a miss is reported, not hidden.

The three start-up and per-call targets (issue 12) come first: `parallel-account
balance` against the fake vs a bare one-shot httpx script doing the same GET (each a
fresh process; the fake is started once, outside the timing), `import
parallel_account` vs `import httpx`, and `get_balance` over httpx.MockTransport vs
bare httpx. Processes run from bytecode compiled first, as an installed wheel has it.
"""

from __future__ import annotations

import asyncio
import compileall
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from parallel_account import AccountClient, AsyncAccountClient
from parallel_account.testing import FakeAccountAPI
from tests.support import ROOT, answer, serve

TOKEN = "bench-token"
BALANCE = json.dumps(
    {
        "org_id": "org_1",
        "credit_balance_cents": 100,
        "pending_debit_balance_cents": 0,
        "will_invoice": False,
    }
).encode()
PATH = "/service/v1/balance"


def _median_ratio(
    ours: Callable[[], object], bare: Callable[[], object], calls: int, rounds: int
) -> tuple[float, float, float]:
    """Median per-call seconds of each, and the median of per-round ratios."""
    ratios, ours_s, bare_s = [], [], []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            bare()
        middle = time.perf_counter()
        for _ in range(calls):
            ours()
        end = time.perf_counter()
        bare_s.append((middle - start) / calls)
        ours_s.append((end - middle) / calls)
        ratios.append(ours_s[-1] / bare_s[-1])
    return statistics.median(ours_s), statistics.median(bare_s), statistics.median(ratios)


def _mock_transport() -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(
            200, content=BALANCE, headers={"content-type": "application/json"}
        )
    )


def bench_mock_transport() -> tuple[float, float, float]:
    transport = _mock_transport()
    bare = httpx.Client(transport=transport, base_url="https://api.parallel.ai/account")
    client = AccountClient(TOKEN, http_client=httpx.Client(transport=transport))

    def bare_call() -> object:
        response = bare.get(PATH, headers={"Authorization": f"Bearer {TOKEN}"})
        response.raise_for_status()
        return response.json()

    return _median_ratio(client.get_balance, bare_call, calls=300, rounds=15)


APPS_PATH = "/service/v1/apps"


def bench_list_apps_10k() -> tuple[float, float, float]:
    """list_apps with 10,000 apps: the client reads within bounds and checks every item."""
    apps = [
        {
            "app_id": f"00000000-0000-4000-8000-{i:012d}",
            "app_name": f"app-{i}",
            "org_id": "org_1",
            "org_name": "Org",
        }
        for i in range(10_000)
    ]
    body = json.dumps({"apps": apps}).encode()
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, content=body, headers={"content-type": "application/json"}
        )
    )
    bare = httpx.Client(transport=transport, base_url="https://api.parallel.ai/account")
    client = AccountClient(TOKEN, http_client=httpx.Client(transport=transport))

    def bare_call() -> object:
        response = bare.get(APPS_PATH, headers={"Authorization": f"Bearer {TOKEN}"})
        response.raise_for_status()
        return json.loads(response.content)

    return _median_ratio(client.list_apps, bare_call, calls=3, rounds=9)


@contextmanager
def _loopback() -> Iterator[str]:
    with serve({PATH: answer(200, BALANCE)}) as base:
        yield base


def bench_loopback() -> tuple[float, float, float]:
    with _loopback() as base:
        bare = httpx.Client(base_url=base)
        client = AccountClient(TOKEN, base_url=base)

        def bare_call() -> object:
            response = bare.get(PATH, headers={"Authorization": f"Bearer {TOKEN}"})
            response.raise_for_status()
            return response.json()

        result = _median_ratio(client.get_balance, bare_call, calls=100, rounds=9)
        bare.close()
        client.close()
    return result


def bench_async_concurrent(concurrency: int = 1000, rounds: int = 7) -> tuple[float, float, float]:
    transport = _mock_transport()

    async def measure() -> tuple[float, float, float]:
        bare = httpx.AsyncClient(transport=transport, base_url="https://api.parallel.ai/account")
        client = AsyncAccountClient(TOKEN, http_client=httpx.AsyncClient(transport=transport))

        async def bare_call() -> object:
            response = await bare.get(PATH, headers={"Authorization": f"Bearer {TOKEN}"})
            response.raise_for_status()
            return response.json()

        ours_s, bare_s, ratios = [], [], []
        for _ in range(rounds):
            start = time.perf_counter()
            await asyncio.gather(*(bare_call() for _ in range(concurrency)))
            middle = time.perf_counter()
            await asyncio.gather(*(client.get_balance() for _ in range(concurrency)))
            end = time.perf_counter()
            bare_s.append(middle - start)
            ours_s.append(end - middle)
            ratios.append(ours_s[-1] / bare_s[-1])
        return statistics.median(ours_s), statistics.median(bare_s), statistics.median(ratios)

    return asyncio.run(measure())


def _process_seconds(
    argv: list[str], rounds: int, env: dict[str, str] | None = None
) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(argv, check=True, cwd=ROOT, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return times


def _compile_as_installed() -> None:
    # pip compiles a wheel's modules at install; an editable checkout under
    # PYTHONDONTWRITEBYTECODE (set on this machine) never is, and would pay for
    # compiling ~60 modules from source on every start. Compile them as pip would.
    for tree in ("generated", "overrides"):
        compileall.compile_dir(ROOT / tree, quiet=1)


def _process_ratio(
    ours: list[str], bare: list[str], rounds: int, env: dict[str, str] | None = None
) -> tuple[float, float, float]:
    """Median seconds of each process, and the median of per-round ratios (back to back)."""
    _compile_as_installed()
    ours_s, bare_s, ratios = [], [], []
    for _ in range(rounds):
        bare_s.append(_process_seconds(bare, 1, env)[0])
        ours_s.append(_process_seconds(ours, 1, env)[0])
        ratios.append(ours_s[-1] / bare_s[-1])
    return statistics.median(ours_s), statistics.median(bare_s), statistics.median(ratios)


def bench_import(rounds: int = 21) -> tuple[float, float, float]:
    python = sys.executable
    return _process_ratio(
        [python, "-c", "import parallel_account"], [python, "-c", "import httpx"], rounds
    )


def bench_import_client(rounds: int = 21) -> tuple[float, float, float]:
    """What a service pays to get the client class (the lazy package defers the rest)."""
    python = sys.executable
    return _process_ratio(
        [python, "-c", "from parallel_account import AccountClient"],
        [python, "-c", "import httpx"],
        rounds,
    )


# What a service's one-off script would write to read the balance with httpx alone.
BARE_BALANCE_SCRIPT = textwrap.dedent(
    """
    import os
    import httpx
    url = os.environ["PARALLEL_SERVICE_API_URL"] + "/service/v1/balance"
    token = os.environ["PARALLEL_ACCOUNT_TOKEN"]
    response = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    balance = response.json()
    print(f"Credit balance: ${balance['credit_balance_cents'] / 100:.2f}")
    """
)


def bench_cli_balance(rounds: int = 21) -> tuple[float, float, float]:
    """`parallel-account balance` vs the bare script, both against one served fake."""
    script = Path(sys.executable).parent / "parallel-account"
    fake = FakeAccountAPI(token=TOKEN, credit_balance_cents=1234)
    with fake.serve() as base:
        env = dict(os.environ, PARALLEL_SERVICE_API_URL=base, PARALLEL_ACCOUNT_TOKEN=TOKEN)
        return _process_ratio(
            [sys.executable, str(script), "balance"],
            [sys.executable, "-c", BARE_BALANCE_SCRIPT],
            rounds,
            env,
        )


def bench_command(argv: list[str], rounds: int = 5) -> float:
    return statistics.median(_process_seconds(argv, rounds))


def main(argv: list[str] | None = None) -> int:
    """Print the table (`--targets`: only the three start-up and per-call targets)."""
    only_targets = "--targets" in (sys.argv[1:] if argv is None else argv)
    rows: list[tuple[str, str, str, str, str]] = []

    def ratio_row(
        name: str, figures: tuple[float, float, float], target: float, unit: str = "us"
    ) -> None:
        ours, bare, ratio = figures
        scale = 1e6 if unit == "us" else 1e3
        verdict = "met" if ratio <= target else "MISSED"
        rows.append(
            (
                name,
                f"{ours * scale:.1f} {unit}",
                f"{bare * scale:.1f} {unit}",
                f"{ratio:.2f}",
                f"<= {target} {verdict}",
            )
        )

    # The three targets of issue 12, first.
    ratio_row(
        "parallel-account balance vs bare httpx script (process, fake on loopback)",
        bench_cli_balance(),
        1.15,
        unit="ms",
    )
    ratio_row("import parallel_account vs import httpx (process)", bench_import(), 1.15, unit="ms")
    ratio_row("get_balance, httpx.MockTransport (per call)", bench_mock_transport(), 1.1)
    ours, bare, ratio = bench_import_client()
    rows.append(
        (
            "from parallel_account import AccountClient vs import httpx (process)",
            f"{ours * 1e3:.1f} ms",
            f"{bare * 1e3:.1f} ms",
            f"{ratio:.2f}",
            "(no target; what the lazy import defers)",
        )
    )
    if only_targets:
        _print(rows)
        return 0
    ratio_row("get_balance, loopback HTTP server (per call)", bench_loopback(), 1.1)
    ratio_row(
        "1,000 concurrent get_balance, AsyncAccountClient", bench_async_concurrent(), 1.2, unit="ms"
    )
    ratio_row(
        "list_apps of 10,000 apps (deep check, models) vs httpx + json",
        bench_list_apps_10k(),
        2.0,
        unit="ms",
    )
    python = sys.executable
    for name, argv in (
        ("make generate (warm venv)", ["make", "-s", "generate"]),
        ("make check-generated (warm venv)", ["make", "-s", "check-generated"]),
        (
            "python -m parallel_account_drift diff openapi.json openapi.json",
            [python, "-m", "parallel_account_drift", "diff", "openapi.json", "openapi.json"],
        ),
    ):
        seconds = bench_command(argv)
        rows.append(
            (name, f"{seconds:.2f} s", "", "", "< 3 s " + ("met" if seconds < 3 else "MISSED"))
        )
    _print(rows)
    return 0


def _print(rows: list[tuple[str, str, str, str, str]]) -> None:
    header = ("benchmark", "client", "bare httpx", "ratio", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, httpx {httpx.__version__}"
    )
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")
    Path(ROOT / ".bench").mkdir(exist_ok=True)
    (ROOT / ".bench" / "last.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    sys.exit(main())
