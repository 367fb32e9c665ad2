"""Background retraining: the promotion gate, job locking, cancel, and surviving SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from digitlab import export
from digitlab.gate import gate_split
from digitlab.jobs import (
    FINISHED_STATES,
    JobAlreadyRunningError,
    JobError,
    UnknownJobError,
    new_job_id,
)
from digitlab.paths import PROJECT_ROOT
from digitlab.registry import Registry
from digitlab.retrain import RetrainOptions, retrain, target_name
from digitlab.retrain_job import RetrainJobs
from digitlab.store import SampleStore

MNIST_FILE = PROJECT_ROOT / "data" / "mnist.npz"
pytestmark = pytest.mark.skipif(not MNIST_FILE.exists(), reason="needs data/mnist.npz")
TINY_JOB = {"epochs": 1, "test_subset": 300, "augment": False, "replay": 5, "replay_minimum": 300,
            "plots": False}


@dataclass
class Workspace:
    """Temp data, models and runs folders (with the env vars pointing at them)."""

    root: Path
    store: SampleStore
    registry: Registry
    manager: RetrainJobs


@pytest.fixture(scope="module")
def mnist():
    from digitlab.data import load_mnist

    return load_mnist(MNIST_FILE)


@pytest.fixture(scope="module")
def template(tmp_path_factory, mnist) -> Path:
    """A registry with a small trained digits@1 (about 90 %, 300 validation images) and a store
    with 60 samples."""
    from digitlab.train import TrainConfig, train

    root = tmp_path_factory.mktemp("template")
    result = train(TrainConfig(arch="fast", epochs=1, train_subset=1500, batch_size=32,
                               augment=False, validation_split=0.2, test_subset=300, verbose=0),
                   mnist=mnist)
    with pytest.MonkeyPatch.context() as patch:  # the registry tests cover the real conversion
        patch.setattr(export, "write_tflite", stub_tflite)
        Registry(root / "models").save(result.model, "digits", result.card())
    store = SampleStore(root / "data" / "samples.sqlite")
    (x_train, y_train), _ = mnist
    for index in range(59_000, 59_060):
        store.add(x_train[index], int(y_train[index]), "canvas")
    store.close()  # checkpoints the WAL so the folder can be copied
    return root


@pytest.fixture
def workspace(template, tmp_path, monkeypatch) -> Workspace:
    root = tmp_path / "workspace"
    shutil.copytree(template, root)
    (root / "data" / "mnist.npz").symlink_to(MNIST_FILE)
    for variable, folder in (("DATA", "data"), ("MODELS", "models"), ("RUNS", "runs")):
        monkeypatch.setenv(f"DIGITLAB_{variable}_DIR", str(root / folder))
    return Workspace(root, SampleStore(), Registry(), RetrainJobs())


def stub_tflite(model, path, quantize=None) -> None:
    """Skip the TFLite conversion (seconds of CPU) in the in-process tests."""
    Path(path).write_bytes(b"tflite stub")


def wait_for(manager: RetrainJobs, job_id: str, condition, timeout: float = 180.0) -> dict:
    """Poll a job's status until condition(status) holds."""
    deadline = time.monotonic() + timeout
    while not condition(status := manager.status(job_id)):
        assert time.monotonic() < deadline, f"timed out; last status {status}"
        time.sleep(0.05)
    return status


def test_renamed_options_name_their_new_names(workspace):
    with pytest.raises(ValueError, match="max_mnist_drop was renamed max_validation_drop"):
        RetrainOptions.from_dict({"max_mnist_drop": 0.01})
    with pytest.raises(JobError, match="check_mnist was renamed check_validation"):
        workspace.manager.start_retrain("digits", check_mnist=False)
    with pytest.raises(ValueError, match="validation_subset must be a positive"):
        RetrainOptions.from_dict({"validation_subset": 0})
    assert RetrainOptions.from_dict({"max_validation_drop": 0.01}).max_validation_drop == 0.01


def test_retrain_validates_before_training(workspace):
    with pytest.raises(ValueError, match="at least 10"):
        retrain(RetrainOptions(set_name="nobody"), store=workspace.store,
                registry=workspace.registry)
    with pytest.raises(ValueError, match="unknown mode"):
        retrain(RetrainOptions(mode="sideways"), store=workspace.store,
                registry=workspace.registry)


def test_scratch_model_that_loses_mnist_is_refused_by_the_gate(workspace, mnist, monkeypatch):
    monkeypatch.setattr(export, "write_tflite", stub_tflite)
    (x_train, y_train), _ = mnist
    for index in range(20):  # a "train your own model" set of 20 samples
        workspace.store.add(x_train[index], int(y_train[index]), "canvas", set_name="tiny")
    options = RetrainOptions(mode="scratch", set_name="tiny", name="digits", check_validation=True,
                             epochs=2, test_subset=300, augment=False, plots=True)
    report = retrain(options, store=workspace.store, registry=workspace.registry, mnist=mnist)
    assert report["promoted"] is False and report["version"] == 2
    assert "MNIST validation accuracy would drop" in report["reason"]
    assert report["after"]["base_validation"] < report["before"]["base_validation"] - 0.001
    assert report["after"]["validation_count"] == 300  # digits@1's validation split
    assert workspace.registry.current("digits") == 1  # kept, unpromoted
    card = workspace.registry.card("digits", 2)
    assert card["retrain"]["gate"]["passed"] is False and card["retrain"]["mode"] == "scratch"
    assert card["retrain"]["gate"]["validation_split"]["model"] == "digits@1"
    assert 0.5 <= card["calibration"]["uncertain_threshold"] < 1.0
    assert "MNIST test" not in card["calibration"]["measured_on"]  # never calibrated on test
    assert card["metrics"]["mnist_test_accuracy"] == report["mnist_test_accuracy"]  # measured
    assert (workspace.registry.path("digits", 2) / "confusion_matrix.png").stat().st_size > 1000
    assert card["data"]["samples"]["train_fingerprint"] == \
        workspace.store.fingerprint("tiny", split="train")


def test_fine_tune_gates_on_the_base_validation_split_never_on_mnist_test(workspace, mnist,
                                                                          monkeypatch):
    from digitlab.data import split_validation_indices, validation_split_indices

    monkeypatch.setattr(export, "write_tflite", stub_tflite)
    (x_train, y_train), (x_test, y_test) = mnist
    garbage_test = x_test[::-1], (y_test + 1) % 10  # every label wrong
    options = RetrainOptions.from_dict({**TINY_JOB, "auto_promote": False})
    reports = [retrain(options, store=workspace.store, registry=workspace.registry, mnist=arrays)
               for arrays in (mnist, ((x_train, y_train), garbage_test))]
    assert reports[1]["mnist_test_accuracy"] < 0.3 < 0.6 < reports[0]["mnist_test_accuracy"]
    for key in ("before", "after", "reason", "promoted"):  # the decision did not move
        assert reports[0][key] == reports[1][key], key
    assert reports[0]["after"]["validation_count"] == 300
    assert reports[0]["reason"].startswith("passed: MNIST validation")
    assert "holdout not judged" in reports[0]["reason"]  # 60 samples: a holdout of about 6
    card = workspace.registry.card("digits", reports[0]["version"])
    base = gate_split(workspace.registry.card("digits", 1))
    assert card["config"]["held_out_split"] == base and gate_split(card) == base
    assert card["retrain"]["gate"]["validation_split"] == {"model": "digits@1", "settings": base,
                                                           "count": 300}
    assert card["retrain"]["gate"]["rule"].startswith("MNIST validation may drop at most 0.1")
    assert reports[0]["gate"]["holdout_judged"] is False
    config = card["config"]  # the replay and the fine-tune's own validation, rebuilt
    fit, validation = validation_split_indices(len(x_train), config["seed"],
                                               config["validation_split"],
                                               config["train_subset"], config["held_out_split"])
    reserved = split_validation_indices(len(x_train), base)
    assert len(fit) >= card["data"]["samples"]["mnist_replay"] and len(validation) > 0
    assert not set(fit.tolist()) & set(reserved.tolist())
    assert not set(validation.tolist()) & set(reserved.tolist())


def test_a_base_without_validation_split_is_gated_on_the_holdout_only(workspace, mnist,
                                                                     monkeypatch):
    monkeypatch.setattr(export, "write_tflite", stub_tflite)
    card_path = workspace.registry.path("digits", 1) / "card.json"
    card = json.loads(card_path.read_text())
    card["config"]["validation_split"] = 0.0  # as if trained on all of its images
    card_path.write_text(json.dumps(card))
    with pytest.raises(ValueError, match="digits@1 has no MNIST validation split"):
        retrain(RetrainOptions(check_validation=True), store=workspace.store,
                registry=workspace.registry, mnist=mnist)
    report = retrain(RetrainOptions.from_dict(TINY_JOB), store=workspace.store,
                     registry=workspace.registry, mnist=mnist)
    assert "sample holdout only" in report["reason"]
    assert "digits@1 has no MNIST validation split to gate on" in report["reason"]
    assert not report["promoted"] and "not enough holdout samples to judge" in report["reason"]
    assert report["after"]["base_validation"] is None and report["validation_split"] is None
    saved = workspace.registry.card("digits", report["version"])
    assert saved["retrain"]["gate"]["check_validation"] is False
    assert saved["retrain"]["gate"]["rule"].startswith("the sample holdout only")
    assert saved["config"]["held_out_split"] is None


def test_candidates_are_saved_under_the_right_name():
    assert target_name("digits") == "digits"
    assert target_name("digits", "finetune", set_name="alice") == "digits"
    assert target_name("digits", "scratch", set_name="alice") == "alice"
    assert target_name("digits", "scratch") == "digits"
    assert target_name("digits", "scratch", set_name="alice", name="mine") == "mine"
    with pytest.raises(ValueError, match="invalid model name"):
        target_name("digits", "scratch", set_name="x'); DROP TABLE samples; --")


def test_killed_job_leaves_store_and_registry_intact_and_the_next_job_runs(workspace):
    manager, registry, store = workspace.manager, workspace.registry, workspace.store
    counts, versions = store.counts(), registry.versions("digits")
    current = registry.current("digits")

    job = manager.start_retrain("digits", **{**TINY_JOB, "epochs": 5})  # long enough to kill
    with pytest.raises(JobAlreadyRunningError, match="already running"):
        manager.start_retrain("digits", **TINY_JOB)
    assert manager.active("digits")["id"] == job["id"]
    status = wait_for(manager, job["id"],  # the job reports "training ..." as train() starts
                      lambda s: s["progress"] >= 0.05 or s["state"] in FINISHED_STATES)
    assert status["state"] == "running" and status["progress"] < 0.8, status
    os.killpg(manager.pid(job["id"]), signal.SIGKILL)
    status = wait_for(manager, job["id"], lambda s: s["state"] != "running", timeout=10)
    assert status["state"] == "failed" and status["message"] == "job process exited unexpectedly"

    assert store.counts() == counts
    assert registry.versions("digits") == versions and registry.current("digits") == current
    registry.load("digits")
    for entry in (workspace.root / "models" / "digits").iterdir():
        if entry.name.isdigit():
            assert {"model.keras", "model.tflite", "card.json"} <= {p.name for p in entry.iterdir()}
    assert manager.active("digits") is None

    second = manager.start_retrain("digits", **TINY_JOB)  # the dead job's lock was released
    status = manager.wait(second["id"], timeout=300)
    assert status["state"] == "succeeded", manager.log(second["id"])
    result = status["result"]
    assert status["progress"] == 1.0 and result["version"] == max(versions) + 1
    assert result["base_version"] == current and result["reason"]
    assert registry.current("digits") == (result["version"] if result["promoted"] else current)
    assert "finished" in manager.log(second["id"])
    assert [s["id"] for s in manager.list()] == [second["id"], job["id"]]


def test_cancel_stops_the_job_and_frees_the_lock(workspace):
    manager = workspace.manager
    job = manager.start_retrain("digits", **TINY_JOB)
    wait_for(manager, job["id"], lambda s: s["progress"] >= 0.02)  # past the TensorFlow import
    status = manager.cancel(job["id"], timeout=60)
    assert status["state"] == "cancelled" and status["finished"]
    assert manager.processes[job["id"]].returncode == 130  # stopped itself at its next report
    assert "+00:00 cancelled" in manager.log(job["id"])  # the job wrote it on its way out
    assert manager.active("digits") is None

    again = manager.start_retrain("digits", **TINY_JOB)  # cancelled while still starting up:
    assert manager.cancel(again["id"], timeout=2)["state"] == "cancelled"  # SIGKILL if need be
    assert manager.cancel(again["id"])["state"] == "cancelled"  # cancelling twice is harmless
    assert workspace.registry.versions("digits") == [1]


def test_bad_ids_and_options_are_rejected(workspace):
    manager = workspace.manager
    for bad in ("../x", "a/b", "", "20250101-120000123-zzzzzz"):
        with pytest.raises(JobError, match="invalid job id"):
            manager.status(bad)
    with pytest.raises(UnknownJobError):
        manager.status(new_job_id())
    with pytest.raises(JobError, match="unknown retrain options"):
        manager.start_retrain("digits", learning_speed=3)
    with pytest.raises(JobError, match="unknown mode"):
        manager.start_retrain("digits", mode="sideways")
    with pytest.raises(ValueError, match="invalid model name"):
        manager.start_retrain("../x")
    assert manager.list() == []


def test_job_ids_sort_by_time():
    ids = []
    for _ in range(3):
        ids.append(new_job_id())
        time.sleep(0.002)
    assert sorted(ids) == ids and len(set(ids)) == 3


def test_one_retrain_per_model_across_replicas_that_share_a_postgres_store(workspace,
                                                                            postgres_server):
    url = postgres_server.create_database("replicas_lock")
    shared = SampleStore(url)
    images, labels = workspace.store.arrays()
    for image, label in zip(images, labels):
        shared.add(image, int(label), "canvas")
    # two replicas on two machines: the same store and registry, but runs folders of their own,
    # so the file lock cannot see the other's job; the database's advisory lock does
    first = RetrainJobs(runs_root=workspace.root / "runs-a", store_path=url)
    second = RetrainJobs(runs_root=workspace.root / "runs-b", store_path=url)
    job = first.start_retrain("digits", **{**TINY_JOB, "epochs": 5})
    with pytest.raises(JobAlreadyRunningError, match="on another replica"):
        second.start_retrain("digits", **TINY_JOB)
    with pytest.raises(JobAlreadyRunningError, match="running here"):
        first.start_retrain("digits", **TINY_JOB)
    first.cancel(job["id"])
    wait_for(first, job["id"], lambda s: s["state"] in FINISHED_STATES, timeout=30)
    deadline = time.monotonic() + 10  # the watcher lets go within its half-second poll
    while True:
        try:
            other = second.start_retrain("digits", **TINY_JOB)
            break
        except JobAlreadyRunningError:
            assert time.monotonic() < deadline, "the lock was not released after the job ended"
            time.sleep(0.2)
    status = second.wait(other["id"], timeout=300)
    assert status["state"] == "succeeded", second.log(other["id"])
    card = workspace.registry.card("digits", status["result"]["version"])
    assert card["data"]["samples"]["store"] == url  # trained from the PostgreSQL store
    assert status["result"]["samples"]["train"] > 0
