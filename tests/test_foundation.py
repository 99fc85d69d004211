"""The bottom layer both packages share: import direction, registries, parameter labels,
the codec cache and the builder's public in-memory call."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import corruptions as C
from benchmark.augment import AugmentSpec, family_names, get_family, learned
from benchmark.augment.cache import augmented_dir
from benchmark.augment.registry import AugmentContext
from benchmark.datasets import load_dataset
from corruptions import build as builder
from corruptions import engine, registry
from corruptions.errors import BenchError
from corruptions.registries import Registry
from tests.conftest import natural_crops

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"corruptions": 0, "benchmark": 1, "leaderboard": 2}
# benchmark's rooms in flow order: each imports only from rooms on lines above it (and
# from corruptions); rooms on one line do not import each other
BENCHMARK_LAYERS = [("datasets",), ("models", "codecs"), ("augment",), ("scoring",),
                    ("pipeline",), ("studies", "perf"), ("verify",), ("api", "commands"),
                    ("cli",)]


def _modules() -> dict[str, Path]:
    """Every module of the three packages by dotted name (a package by its own name)."""
    out = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imported(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, at module level or inside a function, as dotted
    names (``from . import x`` resolved against the package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            out |= {f"{base}.{a.name}" for a in node.names}
    return out


def _graph() -> dict[str, set[str]]:
    """Module -> the project's modules it imports (a name that is an attribute, not a
    module, counts as its module)."""
    modules = _modules()

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    return {name: {m for m in map(owner, _imported(name, path)) if m and m != name}
            for name, path in modules.items()}


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "benchmark" and len(parts) > 1 else None


def test_imports_run_one_way():
    """leaderboard -> benchmark -> corruptions: no package imports one above it."""
    wrong = [f"{name} imports {target}" for name, targets in _graph().items() for target in targets
             if LAYERS[target.split(".")[0]] > LAYERS[name.split(".")[0]]]
    assert not wrong, wrong


def test_benchmark_rooms_import_downward():
    """Function-local imports count: a cycle between rooms hidden inside a function (how
    scoring <-> pipeline came in) is still a cycle."""
    level = {room: i for i, rooms in enumerate(BENCHMARK_LAYERS) for room in rooms}
    rooms = {_room(m) for m in _modules()} - {None}
    assert rooms == set(level), f"rooms without a layer: {sorted(rooms - set(level))}"
    wrong = []
    for name, targets in _graph().items():
        here = _room(name)
        for target in targets:
            there = _room(target)
            if here and there and here != there and level[there] >= level[here]:
                wrong.append(f"{name} imports {target}")
    assert not wrong, wrong


def test_no_module_imports_itself_round_a_cycle():
    graph = _graph()
    cycles = []
    for start in graph:  # a depth-first walk back to the start, from every module
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    cycles.append(" -> ".join(path + [start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    assert not cycles, cycles[:5]


def test_the_layering_check_sees_an_import_inside_a_function(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from ..pipeline.runner import run_units\n")
    assert "benchmark.pipeline.runner.run_units" in _imported("benchmark.scoring.m", path)


def test_a_users_corruption_replaces_a_builtin_only_when_asked():
    original = C.get("fog")
    try:
        with pytest.raises(ValueError, match="already registered.*override=True"):
            @C.register_corruption("fog", category="weather", params=original.params_by_scale)
            def fog_again(x, p, rngs, scale):
                return x

        @C.register_corruption("fog", category="weather", params=original.params_by_scale,
                               override=True)
        def my_fog(x, p, rngs, scale):
            return x * 0 + 0.5

        assert C.get("fog").fn is my_fog  # the user's entry wins
        out = C.corrupt(natural_crops(32, 2), "fog", 3, scale="cifar")
        assert (out == 127).all()
    finally:
        registry.REGISTRY.add("fog", original, override=True)
    assert C.get("fog") is original


def test_registry_loads_builtins_before_the_first_registration(tmp_path, monkeypatch):
    """The bug this fixes: a registration made before the first lookup was overwritten when
    the built-in catalogue loaded afterwards."""
    module = tmp_path / "my_builtins.py"
    # this very module object (pytest may import this file under another name than tests.*)
    here = f"sys.modules[{__name__!r}].FRESH"
    module.write_text(f"import sys\n{here}.add('a', 'builtin')\n{here}.add('c', 'builtin')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    global FRESH
    FRESH = Registry("thing", ["my_builtins"])
    FRESH.add("a", "user", override=True)  # loads the built-ins first, then replaces
    assert FRESH.get("a") == "user" and FRESH.names() == ["a", "c"]
    with pytest.raises(BenchError, match="unknown thing 'b'; known: a, c"):
        FRESH.get("b")


FRESH: Registry = Registry("thing")


EXAMPLES = {"none": ["-"], "jpeg": ["10", "10+40"], "bls": ["0.012+0.1", "1e-05"],
            "bmshj": ["0.0125"], "gaussian_noise": ["1", "0.05", "0.123456789"],
            "gaussian_blur": ["3+9"], "dct_mask": ["8:0.1", "16", "8:0.1+16:0.2", "12:0"],
            "jpeg2000": ["0.3", "0.5+3", "1"], "webp": ["0", "5+80"], "avif": ["85"],
            "augmix": ["1", "10"], "trivialaugment": ["31"], "randaugment": ["0", "30"],
            "autoaugment": ["cifar10", "svhn"], "deepaugment_bls": ["0.05+0.2", "1"]}


@pytest.mark.parametrize("family", sorted(EXAMPLES))
def test_parameter_labels_round_trip(family, tmp_path):
    fam = get_family(family)
    specs = [AugmentSpec(family, (v,)) for v in fam.grid]
    specs += [AugmentSpec.parse(family, text) for text in EXAMPLES[family]]
    for spec in specs:
        again = AugmentSpec.parse(family, spec.label)
        assert again == spec and again.label == spec.label
        for member in spec.members():  # the cache path of each member reads back too
            path = augmented_dir(tmp_path, "fashion-mnist", "train", fam, member.values[0])
            assert AugmentSpec.parse(family, path.name) == member
    assert set(EXAMPLES) == set(family_names())


def test_dct_mask_with_noise_is_labelled_readably():
    spec = AugmentSpec.parse("dct_mask", "8:0.1")
    assert spec.values == ((8, 0.1),) and spec.label == "8:0.1" and str(spec) == "dct_mask:8:0.1"


@pytest.mark.parametrize("family,text,message", [
    ("jpeg", "ten", "cannot read parameter 'ten'"), ("bls", "0.1+", "empty parameter"),
    ("jpeg", "10+10", "repeated"), ("nope", "1", "unknown augmentation family 'nope'")])
def test_bad_parameters_are_one_clear_error(family, text, message):
    with pytest.raises(BenchError, match=message):
        AugmentSpec.parse(family, text)


def test_codec_cache_keeps_every_lambda_of_a_run(tmp_path, monkeypatch):
    trained = []

    def fake_train(self, ctx, entry):  # counts what a cold cache would load or train
        trained.append(entry.lmbda)
        return object()

    monkeypatch.setattr(learned.CodecCache, "_train", fake_train)
    cache = learned.CodecCache(max_codecs=4)
    ctx = AugmentContext("fashion-mnist", tmp_path, progress=False)
    for lmbda in (0.02, 0.2, 0.02, 0.2, 0.02):  # lambdas the zoo does not ship: trained
        cache.codec(ctx, "bls", lmbda)
    assert trained == [0.02, 0.2]  # the old one-entry cache reloaded at every switch
    for lmbda in (1, 2, 3, 4):  # fills the cache: 0.02 and 0.2 are out
        cache.codec(ctx, "bls", lmbda)
    assert len(trained) == 6
    cache.codec(ctx, "bls", 1)  # used again: now the most recent
    cache.codec(ctx, "bls", 5)  # evicts the least recently used, 2 (first-in would drop 1)
    cache.codec(ctx, "bls", 1)
    assert trained == [0.02, 0.2, 1, 2, 3, 4, 5]
    cache.codec(ctx, "bls", 2)
    assert trained[-1] == 2
    cache.clear()
    cache.codec(ctx, "bls", 4)
    assert trained[-1] == 4


@pytest.mark.parametrize("workers", [1, 2])
def test_corrupter_gives_the_engines_rows(workers):
    images = load_dataset("fashion-mnist", "test").images[:6]
    with builder.corrupter(images, scale="cifar", severities=(1, 4), workers=workers) as corrupt:
        rows = corrupt("gaussian_noise")
    assert rows.shape == (12, 28, 28, 1)
    for k, s in enumerate((1, 4)):
        want = engine.corrupt(images, "gaussian_noise", s, scale="cifar", seed=0,
                              indices=range(6))
        assert np.array_equal(rows[k * 6:(k + 1) * 6], want)


def test_the_cpu_kind_names_the_instruction_set_and_the_processor():
    """Two AVX-512 processors (an AMD Zen 4, the Intel hosts) train the same unit to other
    last bits, so the kind that decides exact reruns names the processor too."""
    from corruptions.device import cpu_kind

    kind = cpu_kind().split()
    assert kind[0] in ("AVX512", "AVX2", "DEFAULT", "ZVECTOR", "VSX")
    if Path("/proc/cpuinfo").is_file() and "vendor_id" in Path("/proc/cpuinfo").read_text():
        assert len(kind) == 3 and "/" in kind[2]
