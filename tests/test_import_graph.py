"""The sandbox is a separate package: it never imports the product, and the product's core never imports it
(only the `sandbox serve` and `demo` commands start it)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHELL_MODULES = {"cli.py", "demo.py"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_sandbox_imports_nothing_from_the_product() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(n for n in _imports(p) if n.split(".")[0] == "provisioner")
        for p in (ROOT / "acs_sandbox").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_shell_starts_the_sandbox() -> None:
    users = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "provisioner").rglob("*.py")
        if any(n.split(".")[0] == "acs_sandbox" for n in _imports(p))
    }
    assert users <= {f"provisioner/{m}" for m in SHELL_MODULES}
    assert "provisioner/cli.py" in users  # `acs-dns sandbox serve` is the sandbox's entry point


def _logging_uses(path: Path) -> list[str]:
    """Every `logging.<x>(...)` call except `getLogger(__name__)`, as `<x>(<args>)`."""
    odd = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "logging"
        ):
            continue
        args = [ast.unparse(a) for a in node.args] + [ast.unparse(k) for k in node.keywords]
        if (node.func.attr, args) != ("getLogger", ["__name__"]):
            odd.append(f"{node.func.attr}({', '.join(args)})")
    return odd


def test_modules_log_through_their_own_named_logger() -> None:
    # one logger per module, named after it, so `--debug` (and a user's logging config) can tell them
    # apart and silence one; only the CLI configures logging, and only for --debug
    uses = {str(p.relative_to(ROOT)): _logging_uses(p) for p in (ROOT / "provisioner").rglob("*.py")}
    found = {k: v for k, v in uses.items() if v}
    # credentials.py quiets the Azure SDK's own loggers ("azure", "azure.identity") unless --debug, and asks
    # the root logger (getLogger()) whether --debug turned DEBUG on
    sdk = found.pop("provisioner/azure/credentials.py", [])
    assert sorted(sdk) == sorted(
        ["getLogger('azure')", "NullHandler()", "getLogger('azure.identity')", "getLogger()"]
    )
    assert found == {"provisioner/cli.py": ["basicConfig(level=logging.DEBUG)"]}
