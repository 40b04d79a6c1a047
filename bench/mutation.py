"""Mutation run: mutmut over drivers/ and edge/controllers/ with the fast tests (tests/), on a copy.

Not part of CI: it takes tens of minutes. The project's tracked and working files are copied to a
temporary directory and mutmut runs there (it writes its mutants to mutants/ inside that copy), so
the source tree is never touched and other runs on it are never disturbed. The mutmut configuration
is written into the copy's pyproject.toml by this script; the repository carries none.

Each mutant is run against the tests in tests/ that cover the mutated function (mutmut measures that
first), with pytest -x and a CPU-time limit per mutant (--timeout-multiplier, scaled on the tests'
own time). drivers/sim/ (simulated twins for the tests) is never mutated; tests/test_architecture.py is
left out of the run because it reads the source files themselves, which mutmut rewrites.

Prints, per package and overall, mutants killed / survived / timeout / no tests / total and the
score (killed / total), then every mutant left alive (file:line, the line before and after).
"no tests" are mutants in functions that no fast test calls: alive, listed apart; "other" are mutants
mutmut could not judge (not run, interrupted, suspicious).

What mutmut 3 cannot see: it mutates code inside functions only (module constants and class bodies
are not mutated), and code that runs at import time (the CRC tables) is never executed by a mutant,
since workers fork after the import: those mutants survive whatever the tests; the CRC examples from
the datasheets check the tables.

usage:
    pip install -e .[mutation]
    .venv/bin/python bench/mutation.py                                  # drivers/ and edge/controllers/
    .venv/bin/python bench/mutation.py --paths drivers --jobs 2
    .venv/bin/python bench/mutation.py --paths edge/controllers --exclude edge/controllers/leak
    .venv/bin/python bench/mutation.py --paths edge/controllers/leak --json leak.json --keep
    .venv/bin/python bench/mutation.py --paths drivers --ignore-tests 'tests/*_mutants.py'   # without those
    .venv/bin/python bench/mutation.py --paths drivers --resume /tmp/hameau-mutation-XXXX

--resume takes a copy kept by an earlier run (--keep), brings it up to the working tree and re-tests
only the mutants that run left alive, plus those of functions changed since (mutmut regenerates
them and collects coverage for new tests only): the quick way to see what added tests kill. Killed
mutants are not run again, so it assumes tests were added or strengthened, not weakened.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = ("drivers", "edge/controllers")
#: Never mutated: the simulated twins are test equipment, not firmware.
ALWAYS_EXCLUDED = ("drivers/sim",)
#: Importable packages the tests need; all of them go to mutants/, only --paths are mutated.
PACKAGES = ("drivers", "edge", "fleet")
#: Files the fast tests read besides the packages and tests/ (mutmut copies tests/ and pyproject.toml).
ALSO_COPY = ("examples",)
#: Reads the source text (file sizes, import graph): meaningless on mutmut's rewritten files.
IGNORED_TESTS = ("tests/test_architecture.py",)
INSTALL_HINT = "mutmut is not installed in this environment: pip install -e .[mutation]"
STATUSES = ("killed", "survived", "timeout", "no tests", "other")


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str
    package: str
    status: str
    line: int
    before: str
    after: str


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", nargs="+", default=list(DEFAULT_PATHS),
                        help="directories or .py files to mutate, relative to the repository (default: %(default)s)")
    parser.add_argument("--exclude", nargs="*", default=[],
                        help=f"directories or files not to mutate, besides {', '.join(ALWAYS_EXCLUDED)}")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run in parallel (default: %(default)s)")
    parser.add_argument("--timeout-multiplier", type=float, default=10.0,
                        help="a mutant is stopped after 2 x this x (its tests' own time + 1 s) of CPU time "
                             "(default: %(default)s)")
    parser.add_argument("--ignore-tests", nargs="*", default=[], metavar="GLOB",
                        help="test files to leave out of the run, e.g. 'tests/*_mutants.py' to see what they add")
    parser.add_argument("--by-file", action="store_true", help="also print the counts per file")
    parser.add_argument("--json", type=Path, help="also write the counts and the mutants left alive to this file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary copy (then `mutmut show NAME` or `mutmut browse` work in it)")
    parser.add_argument("--verbose", action="store_true", help="print mutmut's own output as it runs")
    parser.add_argument("--resume", type=Path, metavar="COPY",
                        help="a copy kept by an earlier run: re-test only its surviving mutants with today's tests")
    args = parser.parse_args(argv)
    if args.resume is not None and args.ignore_tests:
        parser.error("--ignore-tests applies to a fresh run, not to --resume")
    if args.resume is not None and not (args.resume / "mutants").is_dir():
        parser.error(f"--resume {args.resume}: not a copy kept by an earlier run (no mutants/ in it)")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    for path in [*args.paths, *args.exclude]:
        if not (ROOT / path).exists():
            parser.error(f"{path}: no such file or directory under {ROOT}")
    return args


def require_mutmut() -> str:
    """mutmut's version; exits with the install hint if mutmut (or Hameau itself) is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        import mutmut  # noqa: F401

        version("hameau")  # the agent reads its own version from the installed metadata
        return version("mutmut")
    except (ImportError, PackageNotFoundError):
        raise SystemExit(INSTALL_HINT) from None


def project_files(root: Path) -> list[str]:
    """Tracked and untracked-but-not-ignored files of the working tree, as they are now."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                         cwd=root, check=True, capture_output=True).stdout
    return sorted({name for name in out.decode().split("\0") if name and (root / name).is_file()})


def copy_project(root: Path, target: Path) -> int:
    files = project_files(root)
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, destination)
    return len(files)


def glob_for(path: str) -> str:
    path = path.rstrip("/")
    return path if path.endswith(".py") else f"{path}/*"


def mutmut_config(paths: list[str], exclude: list[str], timeout_multiplier: float, ignore_tests: list[str]) -> str:
    def toml_list(items: list[str] | tuple[str, ...]) -> str:
        return "[" + ", ".join(json.dumps(item) for item in items) + "]"

    pytest_args = ["-p", "no:cacheprovider", *(f"--ignore={test}" for test in IGNORED_TESTS),
                   *(f"--ignore-glob={glob}" for glob in ignore_tests)]
    return "\n".join([
        "",
        CONFIG_MARK,
        "[tool.mutmut]",
        f"source_paths = {toml_list(PACKAGES)}",
        f"only_mutate = {toml_list([glob_for(p) for p in paths])}",
        f"do_not_mutate = {toml_list([glob_for(p) for p in [*ALWAYS_EXCLUDED, *exclude]])}",
        f"also_copy = {toml_list(ALSO_COPY)}",
        f"pytest_add_cli_args_test_selection = {toml_list(['tests'])}",
        f"pytest_add_cli_args = {toml_list(pytest_args)}",
        f"timeout_multiplier = {timeout_multiplier}",
        "",
    ])


def write_config(copy: Path, text: str) -> None:
    pyproject = copy / "pyproject.toml"
    if "mutmut" in tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}):
        raise SystemExit("pyproject.toml has a [tool.mutmut] table: bench/mutation.py writes its own, remove it")
    with pyproject.open("a", encoding="utf-8") as f:
        f.write(text)


def run_mutmut(copy: Path, jobs: int, verbose: bool) -> tuple[int, Path]:
    """Run `mutmut run` in the copy with this interpreter (mutants with no result yet); output to mutmut.log there."""
    log = copy / "mutmut.log"
    code = "import sys; from mutmut.__main__ import cli; sys.argv[0] = 'mutmut'; cli()"
    command = [sys.executable, "-c", code, "run", "--max-children", str(jobs)]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    with log.open("wb") as out:
        if verbose:
            process = subprocess.Popen(command, cwd=copy, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            assert process.stdout is not None
            for chunk in iter(lambda: process.stdout.read(4096), b""):  # type: ignore[union-attr]
                out.write(chunk)
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
            return process.wait(), log
        return subprocess.run(command, check=False, cwd=copy, env=env, stdout=out,
                              stderr=subprocess.STDOUT).returncode, log


def status_of(exit_code: int | None) -> str:
    from mutmut.stats import status_by_exit_code

    status = status_by_exit_code[exit_code]
    return status if status in STATUSES else "other"


def function_of(mutant_name: str) -> tuple[str | None, str]:
    """(class, function) the mutant was made from: x_name or xǁClassǁmethod, before __mutmut_N."""
    mangled = mutant_name.partition("__mutmut_")[0].rpartition(".")[2]
    if mangled.startswith("x_"):
        return None, mangled[2:]
    _, cls, func = mangled.split("ǁ")
    return cls, func


def first_line_of(tree: ast.Module, cls: str | None, func: str) -> int | None:
    body = tree.body
    if cls is not None:
        classes = [n for n in body if isinstance(n, ast.ClassDef) and n.name == cls]
        body = classes[0].body if classes else []
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == func:
            return min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return None


def locate(copy: Path, file: str, mutant_name: str, trees: dict[str, tuple[ast.Module, list[str]]]) -> tuple[int, str, str]:
    """Line in the original file, and the line before and after the mutation (stripped)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    cwd = os.getcwd()
    os.chdir(copy)
    try:
        diff = get_diff_for_mutant(mutant_name, path=file).splitlines()
    finally:
        os.chdir(cwd)
    if file not in trees:
        text = (copy / file).read_text(encoding="utf-8")
        trees[file] = (ast.parse(text), text.splitlines())
    tree, lines = trees[file]
    removed = [(i, line[1:]) for i, line in enumerate(diff) if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    before = removed[0][1].strip() if removed else ""
    after = added[0].strip() if added else ""
    start = first_line_of(tree, *function_of(mutant_name)) or 1
    if not removed:
        return start, before, after
    # The diff shows the function alone: its "-a,b" hunk counts lines from the function's first line.
    hunk_start, offset = 1, 0
    for text in diff[: removed[0][0]]:
        if match := re.match(r"@@ -(\d+)", text):
            hunk_start, offset = int(match.group(1)), 0
        elif not text.startswith(("---", "+++", "+")):
            offset += 1
    guess = start + hunk_start + offset - 1
    # Decorators, comments or blank lines ahead of the def can shift the count: trust the text.
    candidates = [n for n in range(start, len(lines) + 1) if lines[n - 1].strip() == before]
    found = guess if guess in candidates or not candidates else min(candidates, key=lambda n: abs(n - guess))
    return found, before, after


def package_of(file: str) -> str:
    return str(Path(file).parent)


def selected(file: str, paths: list[str], exclude: list[str]) -> bool:
    """Whether a file is under one of `paths` and under none of the exclusions."""
    def under(p: str) -> bool:
        p = p.rstrip("/")
        return file == p or file.startswith(p + "/")

    return any(under(p) for p in paths) and not any(under(p) for p in [*ALWAYS_EXCLUDED, *exclude])


def collect(copy: Path, paths: list[str], exclude: list[str]) -> list[Mutant]:
    mutants_dir = copy / "mutants"
    found: list[Mutant] = []
    trees: dict[str, tuple[ast.Module, list[str]]] = {}
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        file = str(meta.relative_to(mutants_dir))[: -len(".meta")]
        if not selected(file, paths, exclude):
            continue
        exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        for name, exit_code in exit_codes.items():
            status = status_of(exit_code)
            line, before, after = (0, "", "") if status in ("killed", "timeout") else locate(copy, file, name, trees)
            found.append(Mutant(name, file, package_of(file), status, line, before, after))
    return found


def counts(mutants: list[Mutant]) -> dict[str, int]:
    tally = Counter(m.status for m in mutants)
    result = {status: tally.get(status, 0) for status in STATUSES}
    result["total"] = len(mutants)
    return result


def score(tally: dict[str, int]) -> float:
    return tally["killed"] / tally["total"] if tally["total"] else 0.0


def print_table(title: str, groups: dict[str, list[Mutant]], overall: list[Mutant]) -> None:
    width = max([len(title), len("overall"), *(len(g) for g in groups)])
    header = f"{title:<{width}}  {'killed':>6}  {'survived':>8}  {'timeout':>7}  {'no tests':>8}  {'total':>5}  score"
    print(header)
    print("-" * len(header))
    for name, members in [*sorted(groups.items()), ("overall", overall)]:
        t = counts(members)
        extra = f"  (+{t['other']} other)" if t["other"] else ""
        print(f"{name:<{width}}  {t['killed']:>6}  {t['survived']:>8}  {t['timeout']:>7}  {t['no tests']:>8}  "
              f"{t['total']:>5}  {t['killed']}/{t['total']} = {score(t):.1%}{extra}")


def report(mutants: list[Mutant], by_file: bool) -> None:
    by_package: dict[str, list[Mutant]] = defaultdict(list)
    files: dict[str, list[Mutant]] = defaultdict(list)
    for m in mutants:
        by_package[m.package].append(m)
        files[m.file].append(m)
    print()
    print_table("package", by_package, mutants)
    if by_file:
        print()
        print_table("file", files, mutants)
    alive = sorted((m for m in mutants if m.status not in ("killed", "timeout")),
                   key=lambda m: (m.status != "survived", m.file, m.line, m.name))
    print()
    print(f"{len(alive)} mutants left alive" + (":" if alive else "."))
    for m in alive:
        tag = "" if m.status == "survived" else f" [{m.status}]"
        print(f"  {m.file}:{m.line}{tag}  {m.before}  ->  {m.after or '(removed)'}    ({m.name.rpartition('.')[2]})")


CONFIG_MARK = "# Written by bench/mutation.py into its temporary copy."


def prepare_resume(copy: Path, paths: list[str], exclude: list[str]) -> int:
    """Bring the copy up to today's working tree and mark its living mutants under `paths` for a new test.

    mutmut itself regenerates the mutants of a source file changed since (only the changed functions'
    results are dropped) and refreshes every file it does not mutate; killed mutants stay killed.
    """
    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    if CONFIG_MARK not in text:
        raise SystemExit(f"--resume {copy}: its pyproject.toml has no mutmut configuration from this script")
    config = text[text.index(CONFIG_MARK):]
    for stale in (copy / "tests", copy / "mutants" / "tests"):
        shutil.rmtree(stale, ignore_errors=True)
    copy_project(ROOT, copy)
    with pyproject.open("a", encoding="utf-8") as f:
        f.write("\n" + config)
    marked = 0
    for meta in sorted((copy / "mutants").rglob("*.py.meta")):
        if not selected(str(meta.relative_to(copy / "mutants"))[: -len(".meta")], paths, exclude):
            continue
        data = json.loads(meta.read_text(encoding="utf-8"))
        codes = data["exit_code_by_key"]
        alive = [name for name, code in codes.items() if status_of(code) not in ("killed", "timeout")]
        for name in alive:
            codes[name] = None
        marked += len(alive)
        meta.write_text(json.dumps(data, indent=4), encoding="utf-8")
    return marked


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    version = require_mutmut()
    started = time.monotonic()
    resuming = args.resume is not None
    copy = args.resume.resolve() if resuming else Path(tempfile.mkdtemp(prefix="hameau-mutation-"))
    args.keep = args.keep or resuming
    try:
        retested = 0
        if resuming:
            retested = prepare_resume(copy, args.paths, args.exclude)
            print(f"mutmut {version}: {copy} brought up to the working tree; re-testing the {retested} mutants it"
                  f" left alive under {' '.join(args.paths)}, and those of changed functions, on {args.jobs} jobs",
                  flush=True)
        else:
            copied = copy_project(ROOT, copy)
            write_config(copy, mutmut_config(args.paths, args.exclude, args.timeout_multiplier, args.ignore_tests))
            print(f"mutmut {version}: {copied} files copied to {copy}; mutating {' '.join(args.paths)}"
                  f" (not {' '.join([*ALWAYS_EXCLUDED, *args.exclude])}) with tests/ on {args.jobs} jobs", flush=True)
        code, log = run_mutmut(copy, args.jobs, args.verbose)
        elapsed = time.monotonic() - started
        if code != 0:
            tail = log.read_text(encoding="utf-8", errors="replace")[-4000:]
            print(tail, file=sys.stderr)
            print(f"mutmut failed (exit {code}) after {elapsed:.0f} s; its log: {log}", file=sys.stderr)
            args.keep = True
            return 2
        mutants = collect(copy, args.paths, args.exclude)
        if not mutants:
            print("no mutant was made: are the --paths Python files with functions in them?", file=sys.stderr)
            return 2
        report(mutants, args.by_file)
        what = f"resumed, {retested} alive ones re-tested" if resuming else "run"
        print(f"\n{len(mutants)} mutants ({what}) in {elapsed:.0f} s ({args.jobs} jobs, mutmut {version})")
        if args.json:
            by_package: dict[str, list[Mutant]] = defaultdict(list)
            for m in mutants:
                by_package[m.package].append(m)
            args.json.write_text(json.dumps({
                "tool": f"mutmut {version}",
                "paths": args.paths,
                "exclude": [*ALWAYS_EXCLUDED, *args.exclude],
                "seconds": round(elapsed),
                "overall": counts(mutants),
                "packages": {name: counts(members) for name, members in sorted(by_package.items())},
                "alive": [asdict(m) for m in mutants if m.status not in ("killed", "timeout")],
            }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return 0
    finally:
        if args.keep:
            print(f"copy kept in {copy}", file=sys.stderr)
        else:
            shutil.rmtree(copy, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
