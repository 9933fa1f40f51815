"""The layers stay layered: video → masking → data → models (and visualization on the side) never
import the training code above them, the remote-code model files need only transformers, no library
module rewrites ``sys.path``, and no example script shadows an installed package. Imports are read
from the source with ``ast``, function-level ones included."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "mgm_hf"
BELOW_TRAINING = ("video", "masking", "data", "models", "visualization")
# Saved checkpoints carry these two files as remote code (trust_remote_code=True without mgm_hf).
REMOTE_CODE = ("configuration_mgm_videomae.py", "modeling_mgm_videomae.py")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, module: str | None = None) -> list[tuple[int, str]]:
    """``(line, absolute module name)`` of every import in ``path``, read as the module ``module``
    (default: where ``path`` lies in the package); relative imports resolved, and for ``from X import y``
    both ``X`` and ``X.y`` (``y`` may be a submodule)."""
    module = module or module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def library_files(*subpackages: str) -> list[Path]:
    return sorted(p for sub in subpackages for p in (PACKAGE / sub).rglob("*.py"))


def test_nothing_below_training_imports_training() -> None:
    files = library_files(*BELOW_TRAINING)
    assert len(files) > 40  # the walk found the package
    offenders = [f"{path.relative_to(ROOT)}:{line} imports {name}"
                 for path in files for line, name in imported_modules(path)
                 if name == "mgm_hf.training" or name.startswith("mgm_hf.training.")]
    assert not offenders, "\n".join(offenders)


def test_the_import_reader_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    """The check above can fail: what a module deep in the package might write is resolved."""
    path = tmp_path / "probe.py"
    path.write_text("def f():\n    from ..training.data import x\n    import mgm_hf.training\nfrom .. import training\n")
    names = [name for _, name in imported_modules(path, "mgm_hf.visualization.sources")]
    assert sorted(names) == ["mgm_hf", "mgm_hf.training", "mgm_hf.training", "mgm_hf.training.data",
                             "mgm_hf.training.data.x"]


def optional_import_lines(path: Path) -> set[int]:
    """Lines of the imports inside a ``try`` whose handler catches ImportError / ModuleNotFoundError."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Try):
            continue
        caught = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
        if caught & {"ImportError", "ModuleNotFoundError"}:
            lines |= {n.lineno for stmt in node.body for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return lines


def test_remote_code_files_need_only_transformers() -> None:
    """The two shipped files import the standard library, torch, transformers, huggingface_hub and each
    other; anything of mgm_hf only inside ``try: ... except ModuleNotFoundError`` (masks need mgm_hf,
    loading the weights does not), and never the conversion or transfer code next to them."""
    allowed = {"torch", "transformers", "huggingface_hub", *sys.stdlib_module_names}
    shipped = {f"mgm_hf.models.{Path(name).stem}" for name in REMOTE_CODE}
    for name in REMOTE_CODE:
        path = PACKAGE / "models" / name
        optional = optional_import_lines(path)
        for line, module in imported_modules(path):
            if module in shipped or module.rpartition(".")[0] in shipped:
                continue  # "from .configuration_mgm_videomae import X": the module and module.X
            if module.split(".")[0] == "mgm_hf":
                assert line in optional, f"{name}:{line} needs {module}, which remote code does not have"
                assert not module.startswith(("mgm_hf.models", "mgm_hf.training")), f"{name}:{line} imports {module}"
            else:
                assert module.split(".")[0] in allowed, f"{name}:{line} imports {module}"


def test_no_library_module_rewrites_sys_path() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name)
                    and node.value.id == "sys"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "examples").glob("*.py")))
def test_no_example_script_shadows_an_installed_package(script: str) -> None:
    """A script's folder is first on ``sys.path`` when it runs, so ``examples/<name>.py`` would be
    imported instead of an installed ``<name>`` by anything the script imports."""
    stem = Path(script).stem
    assert importlib.util.find_spec(stem) is None, f"examples/{script} shadows the installed module {stem!r}"
    distributions = {_normalise(d.metadata["Name"]) for d in importlib.metadata.distributions() if d.metadata["Name"]}
    assert _normalise(stem) not in distributions, f"examples/{script} has the name of the distribution {stem!r}"


def test_nothing_cites_a_design_document_outside_the_repository() -> None:
    """Code, tests, scripts and README state their facts (or cite a paper) instead of pointing at a
    design file that ships nowhere (the remote-code model files included)."""
    name = "DESIGN" + ".md"
    files = [ROOT / "README.md", *[p for d in ("src", "tests", "examples", "benchmarks") for p in (ROOT / d).rglob("*")
                                   if p.suffix in (".py", ".md", ".yaml")]]
    assert not (ROOT / name).exists()
    citing = [str(p.relative_to(ROOT)) for p in files if name in p.read_text(encoding="utf-8", errors="replace")]
    assert not citing, citing
