"""Deliberately broken conformance adapters, one per way to break the contract or a scenario.

    python tests/broken_adapter.py MODE [FILE]

Most modes run the project's own adapter (`parallel_account.conformance.adapter`)
in this process and then spoil its answer or the way it is printed; the rest
misbehave without calling anything. `tests/test_conformance.py` runs them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from parallel_account.conformance.adapter import answer


def _spoil(mode: str, request: dict[str, Any]) -> dict[str, Any]:
    document = answer(request)
    error = document.get("error")
    if mode == "retry_after_503" and error and error["status_code"] == 503:
        document = answer(request)  # a second attempt, whatever the operation
    elif mode == "outcome_unknown_always" and error:
        error["outcome_unknown"] = True
    elif mode == "first_page_only" and isinstance(document.get("result"), dict):
        for name, value in document["result"].items():
            if isinstance(value, list):
                document["result"][name] = value[:10]
    elif mode == "error_keys_renamed" and error:
        error["code"] = error.pop("status_code")
    return document


def main() -> int:
    mode = sys.argv[1]
    if mode == "flood_stdout":  # 64 MiB, then waits to be killed (the runner must not keep it)
        line = b"x" * 65535 + b"\n"
        for _ in range(1024):
            sys.stdout.buffer.write(line)
        sys.stdout.flush()
        time.sleep(600)
    if mode == "deep_json":
        print('{"result": ' + "[" * 100_000 + "]" * 100_000 + "}")
        return 0
    if mode == "deepish_json":  # parses, but deeper than the contract allows
        print('{"result": ' + "[" * 500 + "]" * 500 + "}")
        return 0
    if mode == "token_in_stderr":  # the token across 200 and 300 characters: where cuts fall
        token = os.environ["PARALLEL_ACCOUNT_TOKEN"]
        with open(sys.argv[2], "w", encoding="utf-8") as file:
            file.write(token)
        for cut in (200, 300):
            print("x" * (cut - len(token) // 2) + token + " was refused", file=sys.stderr)
        return 1
    if mode == "node_crash":  # what Node prints for an uncaught error, then dies
        print("file:///work/adapter.mjs:12", file=sys.stderr)
        print('  const id = request.arguments.app_id.toUpperCase("x");', file=sys.stderr)
        print("                                       ^", file=sys.stderr)
        print("", file=sys.stderr)
        print(
            "TypeError: Cannot read properties of undefined (reading 'toUpperCase')",
            file=sys.stderr,
        )
        print("    at file:///work/adapter.mjs:12:39", file=sys.stderr)
        print("", file=sys.stderr)
        print("Node.js v20.20.2", file=sys.stderr)
        return 1
    request = json.loads(sys.stdin.read())
    document = _spoil(mode, request)
    if mode == "pretty":
        print(json.dumps(document, indent=2))
    elif mode == "log_line_first":
        print("connecting to the Account API...")
        print(json.dumps(document))
    elif mode == "exit_1_after_answer":
        print(json.dumps(document))
        return 1
    else:
        print(json.dumps(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
