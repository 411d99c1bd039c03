"""The package's shape, as a test: one way imports run, modules of one job, every public name
documented, the tab package free of Keras, and a wheel that carries the tab."""

import ast
import os
import re
import subprocess
import sys
import zipfile

import pytest

import kerasloss
import kerasloss.callbacks
import kerasloss.distribute
import kerasloss.losses
import kerasloss.metrics

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("kerasloss", "kerasloss_tensorboard")


def _modules():
    """{dotted module name: path} of every module of our two packages."""
    found = {}
    for package in PACKAGES:
        for root, _, files in os.walk(os.path.join(REPO, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(root, name)
                    parts = os.path.relpath(path, REPO)[:-3].split(os.sep)
                    if parts[-1] == "__init__":
                        parts = parts[:-1]
                    found[".".join(parts)] = path
    return found


def _imports(module, path, modules):
    """The modules of ours that `module` imports anywhere in its body (function-level too);
    `from package import name` counts as the submodule `package.name` when that is a module."""
    targets = set()
    is_package = path.endswith("__init__.py")
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        targets.update(name for name in names if name in modules and name != module)
    return targets


def _graph():
    modules = _modules()
    return {module: _imports(module, path, modules) for module, path in modules.items()}


def test_no_module_of_ours_imports_itself_back_through_others():
    graph, cycles = _graph(), []
    state = {}

    def visit(module, stack):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_tab_package_imports_nothing_of_kerasloss_or_keras():
    for module, path in _modules().items():
        if module.startswith("kerasloss_tensorboard"):
            tree = ast.parse(open(path).read())
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                for name in names:
                    assert not re.match(r"(kerasloss|keras|tensorflow)(\.|$)", name), (module, name)


def test_no_module_is_over_400_lines():
    long = {m: n for m, p in _modules().items() if (n := sum(1 for _ in open(p))) > 400}
    assert long == {}


def test_each_loss_class_lives_in_the_module_of_its_family():
    for name in kerasloss.losses.__all__:
        module = getattr(kerasloss, name).__module__
        assert re.fullmatch(r"kerasloss\.losses\.[a-z_]+", module), (name, module)


def test_the_losses_package_only_re_exports():
    tree = ast.parse(open(os.path.join(REPO, "kerasloss", "losses", "__init__.py")).read())
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "ImportFrom", "Assign"}


def _documented():
    names = set()
    for root, _, files in os.walk(os.path.join(REPO, "docs", "api")):
        for name in files:
            names.update(re.findall(r"^::: ([\w.]+)", open(os.path.join(root, name)).read(), re.M))
    return names


@pytest.mark.parametrize("module", [kerasloss, kerasloss.metrics, kerasloss.callbacks, kerasloss.distribute],
                         ids=lambda m: m.__name__)
def test_every_public_name_has_an_api_reference_entry(module):
    submodules = {"metrics", "summaries"}  # documented by their own pages / entries
    missing = [n for n in module.__all__ if n not in submodules and f"{module.__name__}.{n}" not in _documented()]
    assert missing == []


def test_readme_fits_on_one_screen():
    assert sum(1 for _ in open(os.path.join(REPO, "README.md"))) <= 150


@pytest.mark.tensorflow_only
def test_a_wheel_carries_the_tab_its_static_files_and_its_entry_point(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), REPO], check=True, capture_output=True)
    wheel, = tmp_path.glob("kerasloss-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert {"kerasloss_tensorboard/static/index.js", "kerasloss_tensorboard/static/style.css",
            "kerasloss_tensorboard/loader.py", "kerasloss/losses/_softmax/torch.py"} <= names
    assert "kerasloss = kerasloss_tensorboard.loader:KerasLossLoader" in entry_points
