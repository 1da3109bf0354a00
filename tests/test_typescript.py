"""TypeScript from the same pin: generated/typescript/ and the reference Node adapter.

`make generate` writes api.d.ts (openapi-typescript), facts.mjs and facts.d.mts
(codegen.typescript); `make typecheck-ts` runs tsc over them and examples/node/.
Here: the facts module is facts.json, the types reject a wrong call, hostile spec
text stays inside its literals, a stale TypeScript file fails `make
check-generated`, generation without the pinned generator fails clearly, and the
reference adapter (examples/node/adapter.js) passes the whole conformance pack.
"""

from __future__ import annotations

import copy
import json
import shlex
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codegen import facts_json, naming, surface, typescript
from codegen.spec import sha256_of
from parallel_account.conformance import load_all
from tests.conftest import running_in_ci
from tests.support import ROOT, make, scratch_repo

GENERATED = ROOT / "generated" / "typescript"
EXAMPLE = ROOT / "examples" / "node"
TSC = ROOT / "node_modules" / "typescript" / "bin" / "tsc"
FACTS_JSON = ROOT / "generated" / "parallel_account_api" / "facts.json"


@pytest.fixture(scope="session")
def tsc(node: str) -> list[str]:
    """The pinned tsc, run by `node`. Skipped where `make prism` has not run, failed under CI."""
    if not TSC.exists():
        reason = f"tsc is not installed ({TSC.relative_to(ROOT)} missing): run `make prism`"
        if running_in_ci():
            pytest.fail(f"{reason} (CI is set: the TypeScript checks must run)", pytrace=False)
        pytest.skip(reason)
    return [node, str(TSC)]


def _tsc_project(tmp_path: Path, files: dict[str, str], generated: Path = GENERATED) -> Path:
    """A tsc project in tmp_path with the example's settings, over `generated` and `files`."""
    settings = json.loads((EXAMPLE / "tsconfig.json").read_text())
    settings["include"] = [
        *files,
        f"{generated.as_posix()}/*.d.ts",
        f"{generated.as_posix()}/*.d.mts",
    ]
    # Types from the repository's node_modules, wherever tmp_path is.
    settings["compilerOptions"]["typeRoots"] = [str(ROOT / "node_modules" / "@types")]
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "tsconfig.json").write_text(json.dumps(settings))
    (tmp_path / "package.json").write_text('{"type": "module"}')
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def _run_tsc(tsc: list[str], project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*tsc, "--noEmit", "-p", str(project / "tsconfig.json")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _node_output(node: str, script: str) -> str:
    """What an ES module `script` run by `node` writes to stdout."""
    done = subprocess.run(
        [node, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_the_facts_module_is_facts_json(node: str) -> None:
    script = (
        f"const m = await import({json.dumps((GENERATED / 'facts.mjs').as_uri())});"
        "const ops = Object.values(m.facts.operations);"
        "process.stdout.write(JSON.stringify({facts: m.facts, same: m.default === m.facts,"
        " frozen: ops.length > 0 && ops.every((o) => Object.isFrozen(o.response.fields))}));"
    )
    seen = json.loads(_node_output(node, script))
    assert seen["facts"] == json.loads(FACTS_JSON.read_text())
    assert seen["same"] and seen["frozen"]


@pytest.mark.slow
def test_the_types_accept_a_right_call_and_reject_wrong_ones(
    tsc: list[str], tmp_path: Path
) -> None:
    facts = json.loads(FACTS_JSON.read_text())
    keyed = next(n for n, op in facts["operations"].items() if op["idempotency_key_field"])
    key_field = facts["operations"][keyed]["idempotency_key_field"]
    number = next(
        f["name"]
        for f in facts["operations"][keyed]["body"]["fields"]
        if f["schema"].get("type") == "integer"
    )
    client = (EXAMPLE / "client.js").as_posix()
    right = (
        f'import {{ AccountClient }} from "{client}";\n'
        "const client = new AccountClient();\n"
        f'await client.call("{keyed}", {{ {number}: 1 }});  // the key may be left out\n'
        f'await client.call("{keyed}", {{ {number}: 1, {key_field}: "k" }});\n'
    )
    assert _run_tsc(tsc, _tsc_project(tmp_path / "right", {"right.js": right})).returncode == 0
    wrong = (
        f'import {{ AccountClient }} from "{client}";\n'
        "const client = new AccountClient();\n"
        f'await client.call("{keyed}", {{ {number}: "1" }});\n'
        f'await client.call("{keyed}", {{}});\n'
        'await client.call("no_such_operation", {});\n'
    )
    done = _run_tsc(tsc, _tsc_project(tmp_path / "wrong", {"wrong.js": wrong}))
    assert done.returncode != 0
    errors = [line for line in done.stdout.splitlines() if "error TS" in line]
    assert [line.split("(")[1].split(",")[0] for line in errors] == ["3", "4", "5"], done.stdout


@pytest.mark.slow
def test_hostile_spec_text_stays_inside_its_literals(tsc: list[str], tmp_path: Path) -> None:
    document = json.loads((ROOT / "openapi.json").read_text())
    hostile = 'x */ export const pwned = 1; /* " \\ ${pwned} \u2028 `'
    working = copy.deepcopy(naming.with_friendly_names(document))
    for path_item in working["paths"].values():
        for operation in path_item.values():
            operation["summary"] = operation["description"] = hostile
    for schema in working["components"]["schemas"].values():
        schema["description"] = hostile
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(working))
    found = surface.surface(working)
    facts_text = facts_json.render(working, sha256_of(spec_path.read_text()), found)
    out = tmp_path / "typescript"
    typescript.render(out, spec_path, facts_text, "0" * 64)
    module = (out / "facts.mjs").as_posix()
    # In code, not a comment: the probe must not be broken by the text it checks. tsc
    # refuses (TS2367) to compare two literal types that cannot be equal.
    probe = (
        f'import {{ facts }} from "{module}";\n'
        "const summary = facts.operations." + found[0].name + ".summary;\n"
        "/** @type {string extends typeof summary ? never : true} */\n"
        "const literal = true;\n"
        f"export const same = literal && summary === {json.dumps(hostile)};\n"
        f'/** @type {{typeof import("{module}")}} */\n'
        "let m;\n"
        "// @ts-expect-error: no such export\n"
        "export const leaked = m.pwned;\n"
    )
    done = _run_tsc(tsc, _tsc_project(tmp_path / "probe", {"probe.js": probe}, generated=out))
    assert done.returncode == 0, done.stdout


@pytest.mark.slow
def test_tsc_refuses_facts_that_disagree_with_the_api_types(tsc: list[str], tmp_path: Path) -> None:
    facts = json.loads(FACTS_JSON.read_text())
    name, operation = next(iter(facts["operations"].items()))
    cases: dict[str, Callable[[dict[str, Any]], None]] = {
        # An operation api.d.ts does not have (as if the two came from different specs).
        "FactsNameEveryOperation": lambda f: f["operations"].update({"not_in_api": operation}),
        # A field outside the documented shape.
        "FactsHaveTheirShape": lambda f: f["operations"][name].update({"retry": "sometimes"}),
    }
    for assertion, change in cases.items():
        changed = copy.deepcopy(facts)
        change(changed)
        out = tmp_path / assertion
        shutil.copytree(GENERATED, out)
        template = (out / "facts.d.mts").read_text()
        start = template.index("export declare const facts: ") + len("export declare const facts: ")
        end = template.index(";\n\nexport default facts;")
        (out / "facts.d.mts").write_text(
            template[:start] + typescript.ts_literal_type(changed) + template[end:]
        )
        done = _run_tsc(tsc, _tsc_project(tmp_path / f"{assertion}-probe", {}, generated=out))
        assert done.returncode != 0
        lines = (out / "facts.d.mts").read_text().splitlines()
        declared = next(i for i, x in enumerate(lines, 1) if f"type {assertion} =" in x)
        rows = {
            int(line.split("(")[1].split(",")[0])
            for line in done.stdout.splitlines()
            if "facts.d.mts(" in line and "error TS" in line
        }
        # The assertion's own error (it spans a few lines), whatever else tsc reports.
        assert rows & set(range(declared, declared + 8)), (assertion, done.stdout)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return scratch_repo(tmp_path / "repo")


@pytest.mark.slow
@pytest.mark.usefixtures("node")
def test_a_stale_typescript_file_fails_check_generated(repo: Path) -> None:
    target = repo / "generated" / "typescript" / "api.d.ts"
    text = target.read_text()
    line = next(x for x in text.splitlines() if x.endswith(": string;"))
    target.write_text(text.replace(line, line.replace(": string;", ": boolean;"), 1))
    stale = make(repo, "check-generated")
    assert stale.returncode != 0
    assert "differs: generated/typescript/api.d.ts" in stale.stdout
    assert f"+{line}" in stale.stdout.splitlines()
    assert make(repo, "generate").returncode == 0
    assert target.read_text() == text
    assert make(repo, "check-generated").returncode == 0


def test_generation_needs_the_pinned_generator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/node")
    monkeypatch.setattr(typescript, "NODE_MODULES", tmp_path / "node_modules")
    with pytest.raises(typescript.TypeScriptError, match=r"has none; run `make prism`"):
        typescript.generator()
    installed = tmp_path / "node_modules" / typescript.GENERATOR / "package.json"
    installed.parent.mkdir(parents=True)
    installed.write_text(json.dumps({"version": "0.0.1"}))
    with pytest.raises(
        typescript.TypeScriptError, match=r"pins openapi-typescript \S+, .* 0\.0\.1"
    ):
        typescript.generator()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(typescript.TypeScriptError, match="`node` not found"):
        typescript.generator()


def test_the_node_client_keeps_its_token_out_of_sight(node: str) -> None:
    script = (
        f"const {{ AccountClient }} = await import({json.dumps((EXAMPLE / 'client.js').as_uri())});"
        'const c = new AccountClient({ token: "tok-SECRET-1234", baseUrl: "http://127.0.0.1:9" });'
        'const {inspect} = await import("node:util");'
        "process.stdout.write(inspect(c, {showHidden: true, depth: 5}) + JSON.stringify(c)"
        " + Object.keys(c).join());"
    )
    seen = _node_output(node, script)
    assert "baseUrl" in seen
    assert "SECRET" not in seen


def test_the_node_client_on_what_the_pack_does_not_stage(node: str) -> None:
    """A refused connection is retried even for a create and reported as surely not carried
    out; an unreadable success answer is reported without quoting its body."""
    facts = json.loads(FACTS_JSON.read_text())["operations"]
    create = next(n for n, op in facts.items() if op["retry"] == "only_if_never_sent")
    args = {f["name"]: "x" for f in facts[create]["body"]["fields"] if f["required"]} | {
        p["name"]: str(uuid.uuid4()) for p in facts[create]["path_params"]
    }
    safe_get = next(n for n, op in facts.items() if op["method"] == "GET" and not op["path_params"])
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
        script = f"""
        import http from "node:http";
        const {{ AccountClient }} = await import({json.dumps((EXAMPLE / "client.js").as_uri())});
        const report = (e) => ({{ kind: e.kind, unknown: e.outcomeUnknown, message: e.message }});
        const waits = [];
        const sleep = async (s) => {{ waits.push(s); }};
        const seen = {{}};
        const refused = new AccountClient({{ baseUrl: "{closed}", token: "t", sleep }});
        await refused.request("{create}", {json.dumps(args)}).catch((e) => {{ seen.refused = report(e); }});
        seen.waits = waits.length;
        const server = http.createServer((req, res) => res.end("raw_api_key=SECRET-VALUE"));
        await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
        const url = `http://127.0.0.1:${{server.address().port}}`;
        const odd = new AccountClient({{ baseUrl: url, token: "t", sleep }});
        await odd.request("{safe_get}", {{}}).catch((e) => {{ seen.unreadable = report(e); }});
        server.close();
        process.stdout.write(JSON.stringify(seen));
        """
        seen = json.loads(_node_output(node, script))
    assert seen["refused"]["kind"] == "connection" and seen["refused"]["unknown"] is False
    assert seen["waits"] == 2  # the default two retries: the request never left
    assert seen["unreadable"]["kind"] == "other" and "not JSON" in seen["unreadable"]["message"]
    assert "SECRET" not in json.dumps(seen)


@pytest.mark.slow
def test_the_node_adapter_passes_every_scenario(node: str) -> None:
    adapter = f"{shlex.quote(node)} {shlex.quote(str(EXAMPLE / 'adapter.js'))}"
    command = [sys.executable, "-m", "parallel_account.cli", "conformance", "run", "--json"]
    done = subprocess.run(
        [*command, "--adapter", adapter],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    report = json.loads(done.stdout)
    failed = [s for s in report["scenarios"] if not s["passed"]]
    assert failed == [], json.dumps(failed, indent=2)
    assert done.returncode == 0, done.stderr
    assert report["passed"] == len(load_all()) == len(report["scenarios"])
