"""The import graph of ``heartprint`` is acyclic, and the layers of DESIGN.md hold.

Every module under ``src/heartprint`` is parsed with :mod:`ast` (nothing is imported), and
every ``import`` / ``from ... import`` statement is an edge: at module top, inside a function,
under ``if TYPE_CHECKING`` alike. A circle counts whether it is closed at import time or only
when a function runs, because a deferred import is still a dependency in both directions.

Edges are resolved as Python resolves them:

* ``import heartprint.a.b`` and ``from heartprint.a.b import name`` are edges to
  ``heartprint.a.b`` (a package's ``__init__`` is the module named by the package);
* ``from heartprint.a import b`` where ``b`` is a submodule of ``heartprint.a`` is an edge to
  ``heartprint.a.b``; where ``b`` is a name defined in (or re-exported by) the package's
  ``__init__`` it is an edge to ``heartprint.a``. So ``from heartprint.cmr import X`` inside
  ``cmr/_foo.py`` closes a circle with ``cmr/__init__`` -> ``_foo``: import from the defining
  submodule instead;
* relative imports are resolved against the importing module's package.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "heartprint"


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def discover(src: Path = SRC, root: str = ROOT) -> dict[str, Path]:
    """Every heartprint module name -> its file."""
    modules = {}
    for path in sorted((src / root).rglob("*.py")):
        modules[_module_name(path, src)] = path
    return modules


def _is_package(name: str, modules: dict[str, Path]) -> bool:
    return modules[name].name == "__init__.py"


def _resolve_relative(importer: str, level: int, module: str | None, modules: dict[str, Path]) -> str:
    package = importer if _is_package(importer, modules) else importer.rpartition(".")[0]
    parts = package.split(".")
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    base = ".".join(parts)
    return f"{base}.{module}" if module else base


def _owning_module(dotted: str, modules: dict[str, Path]) -> str | None:
    """The longest heartprint module that ``dotted`` names (``a.b.c`` -> ``a.b`` if only it exists)."""
    parts = dotted.split(".")
    while parts:
        name = ".".join(parts)
        if name in modules:
            return name
        parts.pop()
    return None


def imports_of(name: str, modules: dict[str, Path], root: str = ROOT) -> dict[str, int]:
    """heartprint modules that ``name`` imports -> the first line that imports each."""
    tree = ast.parse(modules[name].read_text(encoding="utf-8"), filename=str(modules[name]))
    found: dict[str, int] = {}

    def add(target: str | None, line: int) -> None:
        if target is not None and target != name:
            found.setdefault(target, line)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == root or alias.name.startswith(root + "."):
                    add(_owning_module(alias.name, modules), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _resolve_relative(name, node.level, node.module, modules)
            else:
                base = node.module or ""
            if not (base == root or base.startswith(root + ".")):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:  # ``from pkg import submodule``
                    add(sub, node.lineno)
                else:
                    add(_owning_module(base, modules), node.lineno)
    return found


def import_graph(src: Path = SRC, root: str = ROOT) -> tuple[dict[str, dict[str, int]], dict[str, Path]]:
    modules = discover(src, root)
    return {name: imports_of(name, modules, root) for name in modules}, modules


def components(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0

    def strongconnect(v: str) -> None:  # Tarjan, iterative enough for a package this size
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return sorted(found)


def find_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One concrete circle (shortest through its first module) per component of :func:`components`."""
    cycles = []
    for comp in components(graph):
        members = set(comp)
        start = comp[0]
        # breadth-first back to ``start`` inside the component: the shortest circle through it
        prev: dict[str, str] = {}
        frontier = [start]
        seen = {start}
        end = None
        while frontier and end is None:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v]):
                    if w == start:
                        end = v
                        break
                    if w in members and w not in seen:
                        seen.add(w)
                        prev[w] = v
                        nxt.append(w)
                if end is not None:
                    break
            frontier = nxt
        path = [end]
        while path[-1] != start:
            path.append(prev[path[-1]])
        path.reverse()
        cycles.append(path + [start])
    return cycles


def _describe(cycle: list[str], graph: dict[str, dict[str, int]]) -> str:
    hops = [f"{a} (line {graph[a][b]}) -> {b}" for a, b in zip(cycle, cycle[1:])]
    return "\n    ".join(hops)


@functools.cache
def _source_graph() -> dict[str, dict[str, int]]:
    """The import graph of ``src/heartprint``, parsed once per test session (every test reads the same tree)."""
    return import_graph()[0]


def test_import_graph_is_acyclic():
    graph = _source_graph()
    comps, cycles = components(graph), find_cycles(graph)
    assert not cycles, "import circles among heartprint modules:\n  " + "\n  ".join(
        f"circle among {', '.join(comp)}; for example:\n    {_describe(cycle, graph)}"
        for comp, cycle in zip(comps, cycles)
    )


# DESIGN.md, "Data flows one way": nothing below a layer imports from above it.
LAYERS = {
    # clinical works from numbers: no pixels, no outputs, no orchestration.
    "clinical": ("io", "cmr", "ct", "nuclear", "echo", "segmentation", "report", "pipeline", "cli"),
    # io reads and writes; it computes nothing clinical and knows no modality room.
    "io": ("cmr", "ct", "nuclear", "echo", "clinical", "report", "pipeline", "cli"),
    # risk learns from tables and phenotypes: no pixels, no modality room, no orchestration or outputs (the
    # pipeline calls it; it never calls the pipeline).
    "risk": ("io", "cmr", "ct", "nuclear", "echo", "segmentation", "report", "pipeline", "cli", "outputs", "phantoms",
             "demo", "store"),
    # guidelines is the neutral leaf that a modality room and clinical both grade with (valve disease):
    # numbers in, gradings out; it may import measure and errors, nothing else of heartprint.
    "guidelines": ("io", "cmr", "ct", "nuclear", "echo", "clinical", "segmentation", "anatomy", "phantoms", "report",
                   "pipeline", "cli", "demo", "outputs", "store", "results", "phenotype", "image", "concepts", "units"),
}


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layer_violations(graph: dict[str, dict[str, int]], room: str, forbidden_rooms) -> list[str]:
    forbidden = {f"{ROOT}.{r}" for r in forbidden_rooms}
    bad = []
    for name, targets in graph.items():
        if _room(name) != room:
            continue
        for target, line in targets.items():
            if ".".join(target.split(".")[:2]) in forbidden:
                bad.append(f"{name} (line {line}) imports {target}")
    return sorted(bad)


@pytest.mark.parametrize("room", sorted(LAYERS))
def test_layering(room):
    graph = _source_graph()
    bad = layer_violations(graph, room, LAYERS[room])
    assert not bad, f"heartprint.{room} reaches above its layer:\n  " + "\n  ".join(bad)


def _write(tmp: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return tmp


def test_detector_finds_deferred_and_package_circles(tmp_path):
    """The checker can fail: a deferred import circle and an ``__init__`` circle are both caught."""
    src = _write(
        tmp_path,
        {
            "heartprint/__init__.py": "",
            "heartprint/a/__init__.py": "from heartprint.a._x import X\n",
            "heartprint/a/_x.py": "X = 1\ndef f():\n    from ._y import Y\n    return Y\n",
            "heartprint/a/_y.py": "from heartprint.a._x import X\nY = X\n",
            "heartprint/b/__init__.py": "from heartprint.b._p import P\n",
            "heartprint/b/_p.py": "P = 1\n",
            "heartprint/b/_q.py": "from heartprint.b import P\n",  # fine: __init__ does not import _q
            "heartprint/b/_r.py": "from heartprint.b import _p\n",  # submodule edge, not __init__
            "heartprint/c/__init__.py": "from heartprint.c._s import S\n",
            "heartprint/c/_s.py": "def S():\n    from heartprint.c import T\n    return T\n",
            "heartprint/c/_t.py": "T = 2\n",
        },
    )
    graph, _ = import_graph(src)
    assert graph["heartprint.b._r"] == {"heartprint.b._p": 1}
    assert graph["heartprint.b._q"] == {"heartprint.b": 1}
    cycles = find_cycles(graph)
    as_sets = sorted(sorted(set(c)) for c in cycles)
    assert as_sets == [
        ["heartprint.a._x", "heartprint.a._y"],
        ["heartprint.c", "heartprint.c._s"],
    ], cycles
    msg = _describe(cycles[0], graph)
    assert "line" in msg and "->" in msg


def test_layer_check_can_fail(tmp_path):
    src = _write(
        tmp_path,
        {
            "heartprint/__init__.py": "",
            "heartprint/io/__init__.py": "",
            "heartprint/io/_load.py": "def f():\n    from heartprint.ct import g\n    return g\n",
            "heartprint/ct/__init__.py": "g = 1\n",
            "heartprint/clinical/__init__.py": "from ..report import r\n",
            "heartprint/report/__init__.py": "r = 1\n",
        },
    )
    graph, _ = import_graph(src)
    assert layer_violations(graph, "io", LAYERS["io"]) == ["heartprint.io._load (line 2) imports heartprint.ct"]
    assert layer_violations(graph, "clinical", LAYERS["clinical"]) == [
        "heartprint.clinical (line 1) imports heartprint.report"
    ]


def test_guidelines_is_a_leaf_both_echo_and_clinical_may_import(tmp_path):
    """The neutral room: a guidelines module that reached into clinical (or a modality) is caught, and the
    real tree has echo and clinical both grading valves through it."""
    src = _write(
        tmp_path,
        {
            "heartprint/__init__.py": "",
            "heartprint/guidelines/__init__.py": "",
            "heartprint/guidelines/valves.py": "from heartprint.clinical import x\n",
            "heartprint/clinical/__init__.py": "x = 1\n",
        },
    )
    graph, _ = import_graph(src)
    assert layer_violations(graph, "guidelines", LAYERS["guidelines"]) == [
        "heartprint.guidelines.valves (line 1) imports heartprint.clinical"
    ]
    modules = discover()  # two files parsed, not the whole graph (test_layering walks that)
    assert "heartprint.guidelines.valves" in imports_of("heartprint.echo._valves", modules)
    assert "heartprint.guidelines.valves" in imports_of("heartprint.clinical.valves", modules)


# -- geometry convention against highdicom ---------------------------------------------------
# DESIGN.md fixes arrays (z, y, x) and an affine from (z, y, x, 1) to LPS mm; heartprint.io
# stacks slices along the DICOM normal row x column. highdicom's Volume uses the same matrix
# form (slices first, rows, columns) but stacks slices along column x row (so that
# (slice, row, column) is right-handed): the same voxels, with axis 0 reversed. These tests
# pin that relation on real files, so a change on either side is seen.

_PYDICOM_FILES = Path(__import__("pydicom").__file__).parent / "data" / "test_files"


def _real_ct_series() -> Path:
    folder = _PYDICOM_FILES / "dicomdirtests" / "98892001" / "CT5N"  # 5 axial CT slices, 2.5 mm apart
    if not folder.is_dir():
        pytest.skip(f"{folder} not shipped with this pydicom")
    return folder


def test_series_affine_equals_highdicom_volume_flipped_on_z():
    hd = pytest.importorskip("highdicom")
    import numpy as np
    import pydicom

    from heartprint import io as hio
    from heartprint.io._geometry import plan_layout

    folder = _real_ct_series()
    datasets = [pydicom.dcmread(f) for f in sorted(folder.iterdir())]
    vol = hd.get_volume_from_series(datasets)
    img = hio.load(folder)
    layout = plan_layout(hio.scan(folder)[0])  # headers only: the same affine without pixels

    np.testing.assert_allclose(img.affine, layout.affine)
    np.testing.assert_allclose(vol.flip_spatial(0).affine, img.affine, atol=1e-6)
    np.testing.assert_array_equal(vol.flip_spatial(0).array, img.array)
    # not the same without the flip: the slice columns point opposite ways
    np.testing.assert_allclose(vol.affine[:3, 0], -img.affine[:3, 0], atol=1e-6)
    normal = np.cross(img.direction[:, 2], img.direction[:, 1])  # row x column
    assert float(img.affine[:3, 0] @ normal) > 0


def test_enhanced_multiframe_affine_equals_highdicom_volume_flipped_on_z():
    hd = pytest.importorskip("highdicom")
    import numpy as np
    from pydicom.data import get_testdata_file

    from heartprint import io as hio

    path = get_testdata_file("eCT_Supplemental.dcm", download=False)
    if path is None:
        pytest.skip("eCT_Supplemental.dcm not available (pydicom-data not installed?)")
    vol = hd.imread(path).get_volume()
    img = hio.load(path)
    np.testing.assert_allclose(vol.flip_spatial(0).affine, img.affine, atol=1e-6)


def test_irregular_real_series_rejected_by_both_but_only_heartprint_names_the_gap():
    pytest.importorskip("highdicom")
    import pydicom
    from highdicom.spatial import get_series_volume_positions

    from heartprint import io as hio
    from heartprint.errors import GeometryError
    from heartprint.io._geometry import plan_layout

    folder = _PYDICOM_FILES / "dicomdirtests" / "77654033" / "CT2"  # 1.25 mm slices and one 202.5 mm away
    if not folder.is_dir():
        pytest.skip(f"{folder} not shipped with this pydicom")
    datasets = [pydicom.dcmread(f) for f in sorted(folder.iterdir())]
    assert get_series_volume_positions(datasets) == (None, None)
    with pytest.raises(GeometryError, match=r"gap 202\.500 mm between .*17106 and .*17136"):
        plan_layout(hio.scan(folder)[0])
