"""The size limits of issue 16 over bot/ and bench/: no module over 450 lines (readable in
one sitting), no function or method over 80 lines. Alembic's scripts in bot/migrations/ are
generated and left out."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from bot.settings import ROOT

MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80
FOLDERS = ("bot", "bench")
SKIPPED = ("bot/migrations",)


def python_files(root: Path) -> list[Path]:
    """Every .py file under bot/ and bench/ but bot/migrations/, sorted."""
    found = []
    for folder in FOLDERS:
        for path in (root / folder).rglob("*.py"):
            relative = path.relative_to(root).as_posix()
            if not any(relative.startswith(f"{skipped}/") for skipped in SKIPPED):
                found.append(path)
    return sorted(found)


def _functions(node: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.AST]]:
    """(qualified name, node) of every function and method, nested ones included."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            yield f"{prefix}{child.name}", child
            yield from _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")
        else:
            yield from _functions(child, prefix)


def oversized(path: Path, root: Path) -> list[str]:
    """What in one file breaks a limit, one line each: `path: N lines` for the module,
    `path:LINE name(): N lines` for a function (decorators not counted)."""
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(root).as_posix()
    offenders = []
    lines = len(text.splitlines())
    if lines > MAX_MODULE_LINES:
        offenders.append(f"{name}: {lines} lines (module limit {MAX_MODULE_LINES})")
    for qualname, node in _functions(ast.parse(text, filename=name)):
        assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        assert node.end_lineno is not None
        length = node.end_lineno - node.lineno + 1
        if length > MAX_FUNCTION_LINES:
            offenders.append(
                f"{name}:{node.lineno} {qualname}(): {length} lines "
                f"(function limit {MAX_FUNCTION_LINES})"
            )
    return offenders


def test_no_module_or_function_over_the_limits() -> None:
    offenders = [line for path in python_files(ROOT) for line in oversized(path, ROOT)]
    assert not offenders, (
        f"{len(offenders)} over the limits of issue 16 (split by concept):\n  "
        + "\n  ".join(offenders)
    )


# -- the check itself ----------------------------------------------------------------------


def _function(name: str, body_lines: int, indent: str = "") -> str:
    """A function of 1 + body_lines lines."""
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(body_lines))
    return f"{indent}def {name}() -> None:\n{body}"


def test_the_check_finds_a_long_module_and_long_functions(tmp_path: Path) -> None:
    source = (
        "@decorator\n"
        + _function("long", MAX_FUNCTION_LINES)  # 81 lines
        + "class Thing:\n"
        + _function("method", MAX_FUNCTION_LINES, indent="    ").replace("def", "async def")
        + _function("fits", MAX_FUNCTION_LINES - 1)  # exactly 80 lines
    )
    source += "\n" * (MAX_MODULE_LINES + 1 - len(source.splitlines()))
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "big.py").write_text(source)
    assert oversized(tmp_path / "bot" / "big.py", tmp_path) == [
        f"bot/big.py: {MAX_MODULE_LINES + 1} lines (module limit {MAX_MODULE_LINES})",
        f"bot/big.py:2 long(): {MAX_FUNCTION_LINES + 1} lines (function limit 80)",
        f"bot/big.py:84 Thing.method(): {MAX_FUNCTION_LINES + 1} lines (function limit 80)",
    ]


def test_the_check_passes_a_file_at_the_limits(tmp_path: Path) -> None:
    inner = _function("inner", 3, indent="    ")  # 4 lines inside the outer function's 80
    outer = _function("outer", MAX_FUNCTION_LINES - 1 - 4).replace(":\n", ":\n" + inner, 1)
    source = outer + "\n" * (MAX_MODULE_LINES - len(outer.splitlines()))
    path = tmp_path / "fits.py"
    path.write_text(source)
    assert len(path.read_text().splitlines()) == MAX_MODULE_LINES
    assert oversized(path, tmp_path) == []
    # One line more in the function: the module and the function are over.
    path.write_text(source.replace("\n    x0 = 0\n", "\n    x0 = 0\n    y = 0\n", 1))
    assert oversized(path, tmp_path) == [
        f"fits.py: {MAX_MODULE_LINES + 1} lines (module limit {MAX_MODULE_LINES})",
        f"fits.py:1 outer(): {MAX_FUNCTION_LINES + 1} lines (function limit 80)",
    ]


def test_the_check_names_a_long_nested_function(tmp_path: Path) -> None:
    inner = _function("inner", MAX_FUNCTION_LINES, indent="    ")
    path = tmp_path / "nested.py"
    path.write_text(_function("outer", 1).replace(":\n", ":\n" + inner, 1))
    assert oversized(path, tmp_path) == [
        f"nested.py:1 outer(): {MAX_FUNCTION_LINES + 3} lines (function limit 80)",
        f"nested.py:2 outer.inner(): {MAX_FUNCTION_LINES + 1} lines (function limit 80)",
    ]


def test_every_file_of_bot_and_bench_is_checked_but_migrations() -> None:
    files = {path.relative_to(ROOT).as_posix() for path in python_files(ROOT)}
    assert {"bot/__init__.py", "bot/sync/run.py", "bench/run.py"} <= files
    assert (ROOT / "bot" / "migrations" / "env.py").is_file()
    assert not [name for name in files if name.startswith("bot/migrations/")]
