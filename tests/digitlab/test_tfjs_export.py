"""TF.js export: the layers model, run by @tensorflow/tfjs in node, agrees with Keras within 1e-4."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from digitlab.models import build_model
from digitlab.tfjs_export import to_tfjs, write_tfjs
from tests.app.helpers import COMMITTED_MODEL, ROOT

TFJS_PACKAGES = ["@tensorflow/tfjs-core@4.22.0", "@tensorflow/tfjs-layers@4.22.0",
                 "@tensorflow/tfjs-backend-cpu@4.22.0"]
NODE_FOLDER = ROOT / ".cache" / "node"  # git-ignored; installed once, reused by later runs


@pytest.fixture(scope="module")
def node_modules():
    """The tf.js packages, installed from npm by the test set-up when missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run a tf.js model (Debian: apt install nodejs npm)")
    modules = NODE_FOLDER / "node_modules"
    if not (modules / "@tensorflow" / "tfjs-layers").is_dir():
        NODE_FOLDER.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix",
                        str(NODE_FOLDER), *TFJS_PACKAGES], check=True, timeout=600)
    return modules


@pytest.fixture(scope="module")
def images(mnist):
    """The first 100 MNIST test digits as the model sees them."""
    (_, _), (x_test, _) = mnist
    return (x_test[:100] / 255.0).astype(np.float32)[..., None]


@pytest.mark.parametrize("arch", ["baseline", "fast", "default"])
def test_each_architecture_agrees_with_keras_in_node(arch, images, node_modules, tmp_path,
                                                     monkeypatch):
    from digitlab.export import NODE_MODULES, run_tfjs

    monkeypatch.setenv(NODE_MODULES, str(node_modules))
    model = build_model(arch)  # random weights: every weight takes part in the comparison
    write_tfjs(model, tmp_path)
    np.testing.assert_allclose(run_tfjs(tmp_path, images),
                               np.asarray(model(images, training=False)), atol=1e-4)


def test_the_committed_model_exports_checked_and_carded(node_modules, tmp_path, capsys,
                                                        monkeypatch):
    from digitlab.export import NODE_MODULES, main

    monkeypatch.setenv(NODE_MODULES, str(node_modules))
    folder = shutil.copytree(COMMITTED_MODEL, tmp_path / "digits-1")
    assert main([str(folder), "--format", "tfjs"]) == 0
    record = json.loads((folder / "card.json").read_text())["exports"]["tfjs"]
    assert record["file"] == "tfjs/model.json" and (folder / "tfjs" / "weights.bin").exists()
    assert record["largest_difference_from_keras"] <= 1e-4
    assert json.loads(capsys.readouterr().out)["tfjs"]["sha256"] == record["sha256"]


def test_the_weights_manifest_matches_the_weights():
    model = build_model("fast")
    document, weights = to_tfjs(model)
    specs = document["weightsManifest"][0]["weights"]
    assert sum(4 * int(np.prod(spec["shape"])) for spec in specs) == len(weights)
    assert document["modelTopology"]["config"]["layers"][0]["config"]["batch_input_shape"] == \
        [None, 28, 28, 1]


def test_the_static_page_draws_and_predicts_with_no_server(node_modules, tmp_path):
    import keras
    from playwright.sync_api import sync_playwright

    from tests.app.browser import draw, launch
    from tests.app.helpers import SHAPES

    model = keras.saving.load_model(COMMITTED_MODEL / "model.keras", compile=False)
    write_tfjs(model, tmp_path, "digits@1", node_modules)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            page.goto((tmp_path / "index.html").as_uri())  # from disk: no server at all
            page.wait_for_selector('#digit[data-state="ready"]', timeout=30_000)
            for expected, shape in SHAPES.items():
                page.click("#clear")
                draw(page, shape, selector="#pad")  # scaled from the 336-px pad they are for
                page.wait_for_selector('#digit[data-state="answered"]', timeout=10_000)
                assert page.inner_text("#digit") == str(expected)
        finally:
            browser.close()


def with_browser_marks(test):
    """The marks of the browser tests (a clear skip without Debian chromium)."""
    from tests.app.browser import BROWSER_MARKS

    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


test_the_static_page_draws_and_predicts_with_no_server = with_browser_marks(
    test_the_static_page_draws_and_predicts_with_no_server)
