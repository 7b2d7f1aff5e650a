"""The built wheel works on its own: installed into a fresh venv and run away from the source
tree, it ingests the shipped corpus, answers with citations and renders every shipped prompt.

The fresh venv borrows the dev venv's installed dependencies through a `.pth` file (the machine is
offline, so nothing can be downloaded); a `.pth` path is added to `sys.path` without running the
`.pth` files inside it, so the dev venv's editable install, which maps the packages to this
checkout, stays out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench.processes import free_port, running, wait_for_url
from tests.conftest import MODEL_CACHE, ROOT

# Well under two minutes with a warm model cache; the limit only stops a hang.
pytestmark = pytest.mark.timeout(300)

PACKAGES = ["newsdesk", "index", "rag", "ui", "prompts", "evals"]
QUESTION = "Where was equipment at a key substation hit?"
# Never copied into the build: the dev venv, caches, earlier builds, indexes.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    "artifacts",
    ".newsdesk",
)

# Dummy variables for each shipped template: every one must render with exactly these.
PASSAGE = {"number": 1, "outlet": "Kyiv Post", "date": "2025-08-27", "title": "T", "text": "X."}
TEMPLATE_VARS: dict[str, dict[str, object]] = {
    "answer_system": {"max_sentences": 3, "abstain_token": "NO_ANSWER"},
    "answer_user": {"passages": [PASSAGE], "question": "Where?"},
    "condense": {"history": [{"question": "Who?", "answer": "Them [1]."}], "question": "Where?"},
}

# Runs inside the fresh venv: where the packages come from, then every template, rendered with
# its variables and with each one left out.
CHECK_PROMPTS = """
import json, sys
import newsdesk, prompts
from rag.prompts import PromptError, render

variables = json.loads(sys.argv[1])
failures = {}
for name, values in variables.items():
    render(name, **values)
    for left_out in values:
        try:
            render(name, **{k: v for k, v in values.items() if k != left_out})
        except PromptError:
            continue
        failures.setdefault(name, []).append(left_out)
print(json.dumps({
    "newsdesk": newsdesk.__file__,
    "prompts": prompts.__file__,
    "sys_path": sys.path,
    "templates": prompts.template_names(),
    "renders": render("answer_system", **variables["answer_system"]),
    "not_failing": failures,
}))
"""


@dataclass
class Installed:
    """The wheel installed in a fresh venv, and a working folder outside the checkout."""

    wheel: Path
    venv: Path
    work: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a command of the venv (`newsdesk`, `python`) from the working folder."""
        return subprocess.run(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=240,
        )


def _build_wheel(out: Path) -> Path:
    # Built from a copy so the checkout gets no build/ folder, and stale files from an earlier
    # build cannot slip into the wheel.
    source = out / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("newsdesk-*.whl")
    return wheel


def _install(wheel: Path, venv: Path) -> None:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    target = [*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index"]
    subprocess.run([*target, str(wheel)], check=True, capture_output=True)
    # Only now the dependencies: pip must not see the dev venv's editable newsdesk as installed.
    site = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(site) / "newsdesk_dev_deps.pth").write_text("\n".join(sorted(deps)) + "\n")


def _clean_env(venv: Path) -> dict[str, str]:
    # No PYTHONPATH and no NEWSDESK_* settings from the calling shell; the shared model cache so
    # the bundled model is not exported again.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NEWSDESK_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        NEWSDESK_MODEL_CACHE_DIR=str(MODEL_CACHE),
    )
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel, built once for the module and installed in a fresh venv."""
    base = tmp_path_factory.mktemp("packaging")
    wheel = _build_wheel(base / "dist")
    venv = base / "venv"
    _install(wheel, venv)
    work = base / "work"
    work.mkdir()
    return Installed(wheel, venv, work, _clean_env(venv))


def test_wheel_holds_the_packages_and_their_data(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    tops = {n.split("/")[0] for n in names} - {n.split("/")[0] for n in names if ".dist-info/" in n}
    assert tops == {p for p in PACKAGES if (ROOT / p / "__init__.py").exists()}
    for package in tops:
        assert f"{package}/__init__.py" in names
    for template in (ROOT / "prompts").glob("*.md"):
        assert f"prompts/{template.name}" in names
    corpus = sorted(p.name for p in (ROOT / "newsdesk" / "corpus").iterdir())
    assert "manifest.yaml" in corpus and len(corpus) == 6
    assert {f"newsdesk/corpus/{name}" for name in corpus} <= names
    assert "rag/models/answerer.json" in names  # the learned answer model


def test_wheel_holds_no_benchmark_probe_or_training_module(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    lab = [
        n
        for n in names
        if n.startswith(("bench/", "tests/", "scripts/", "docs/"))
        or any(word in n.rsplit("/", 1)[-1] for word in ("bench", "probe", "train", "realtimeqa"))
    ]
    assert lab == []
    assert any(n.startswith("evals/") for n in names)  # `newsdesk eval` is a user feature


def test_installed_wheel_ingests_the_shipped_corpus_and_answers(installed: Installed) -> None:
    index = installed.work / "idx"
    ingest = installed.run("newsdesk", "ingest", "--quiet", "--data-dir", str(index))
    assert ingest.returncode == 0, ingest.stderr
    assert ingest.stdout.startswith("5 added"), ingest.stdout
    ask = installed.run("newsdesk", "ask", QUESTION, "--data-dir", str(index))
    assert ask.returncode == 0, ask.stderr
    assert "[1:" in ask.stdout, ask.stdout
    assert "substation" in ask.stdout.lower()


def test_installed_wheel_serves_answers_from_the_shipped_corpus(installed: Installed) -> None:
    port = free_port()
    command = [str(installed.venv / "bin" / "newsdesk"), "serve", "--port", str(port)]
    command += ["--data-dir", str(installed.work / "served")]  # empty: serve ingests the corpus
    base = f"http://127.0.0.1:{port}"
    log = installed.work / "serve.log"
    with log.open("w") as out, running(command, out, installed.env, cwd=installed.work) as proc:
        wait_for_url(f"{base}/healthz", proc, timeout=180)
        reply = httpx.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=60)
    assert reply.status_code == 200, log.read_text()[-2000:]
    answer = reply.json()
    assert not answer["abstained"] and answer["citations"], answer
    assert answer["citations"][0]["label"].startswith("Al Jazeera"), answer["citations"][0]


def test_installed_prompts_render_strictly_from_the_wheel(installed: Installed) -> None:
    # -I: no PYTHONPATH, no user site and no working folder on sys.path.
    check = installed.run("python", "-I", "-c", CHECK_PROMPTS, json.dumps(TEMPLATE_VARS))
    assert check.returncode == 0, check.stderr
    found = json.loads(check.stdout)
    venv = installed.venv.resolve()
    for module in ("newsdesk", "prompts"):
        assert Path(found[module]).resolve().is_relative_to(venv), found[module]
    assert not any(Path(p).resolve() == ROOT for p in found["sys_path"] if p)
    assert found["templates"] == sorted(TEMPLATE_VARS), "give each new template its variables here"
    assert "NO_ANSWER" in found["renders"]
    assert found["not_failing"] == {}, "a template rendered with a variable left out"
