"""The training loop: history, early stopping, NaN stop, Ctrl-C, checkpoints, augmentation."""
import json
import math
import os
import signal
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck import Network
from gradcheck.errors import ConfigError, DataError, ModelFileError, NumericalError
from gradcheck.nn.persist import CHECKPOINT_FORMAT, read_header
from gradcheck.train.augment import Augment
from gradcheck.train.batches import all_finite
from gradcheck.train.evaluation import evaluate
from gradcheck.train.history import History
from gradcheck.train.loop import fit
from gradcheck.train.optim import SGD, Adam


def _images(n=240, side=6, classes=3, seed=0):
    """Blurry class-dependent blobs on a side x side grid: learnable, image-shaped, seeded."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.uniform(1, side - 2, (classes, 2))
    r, c = np.mgrid[0:side, 0:side]
    blobs = np.exp(-((r - centres[:, 0, None, None]) ** 2 + (c - centres[:, 1, None, None]) ** 2) / 2)
    X = blobs[y].reshape(n, -1) + 0.3 * rng.random((n, side * side))
    return X / X.max(), y


def _net(n_features=36, hidden=8, classes=3, seed=1, **kw):
    return Network([n_features, hidden, classes], hidden="tanh", seed=seed, **kw)


def test_history_records_every_epoch_and_is_json_ready():
    X, y = _images()
    net = _net()
    history = fit(net, X, y, epochs=5, batch_size=32, validation=0.25, lr=0.05)
    assert len(history) == 5 and history["epoch"] == [1, 2, 3, 4, 5]
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert all(0 <= a <= 1 for a in history["val_accuracy"] + history["train_accuracy"])
    assert history["lr"][0] == pytest.approx(0.05) and history["lr"][-1] < 0.05  # cosine decay
    assert history.best_epoch == 1 + int(np.argmin(history["val_loss"]))
    again = History.from_dict(json.loads(json.dumps(history.to_dict())))
    assert again == history


def test_minibatches_are_a_seeded_permutation():
    X, y = _images()
    thetas = []
    for _ in range(2):
        net = _net()
        fit(net, X, y, epochs=2, batch_size=50, seed=5)
        thetas.append(net.theta)
    net = _net()
    fit(net, X, y, epochs=2, batch_size=50, seed=6)
    assert np.array_equal(thetas[0], thetas[1]) and not np.array_equal(thetas[0], net.theta)


def test_data_are_converted_to_the_network_dtype_once():
    X, y = _images()
    net = _net(dtype=np.float32)
    fit(net, X.astype(np.float64), y, epochs=1, optimizer=Adam(lr=1e-2))
    assert net.theta.dtype == np.float32


def _epoch_snapshots(net, store):
    def callback(event):
        if event.kind == "epoch_end":
            store[event.epoch] = net.theta.copy()
    return callback


def test_early_stopping_restores_the_best_epoch():
    X, y = _images()
    # validation labels that disagree with training: the validation loss soon rises
    X_val, y_val = X[:60], (y[:60] + 1) % 3
    net, snapshots = _net(), {}
    history = fit(net, X, y, epochs=50, batch_size=32, lr=0.05, validation=(X_val, y_val),
                  early_stopping=3, callbacks=[_epoch_snapshots(net, snapshots)])
    assert history.stopped_early and len(history) == history.best_epoch + 3 < 50
    assert np.array_equal(net.theta, snapshots[history.best_epoch])


def test_restore_best_false_keeps_the_last_weights():
    X, y = _images()
    net, snapshots = _net(), {}
    history = fit(net, X, y, epochs=50, lr=0.05, validation=(X[:60], (y[:60] + 1) % 3),
                  early_stopping=2, restore_best=False, callbacks=[_epoch_snapshots(net, snapshots)])
    assert np.array_equal(net.theta, snapshots[len(history)])


def test_nan_loss_stops_with_the_last_finite_weights_and_names_the_learning_rate():
    X, y = _images()
    net = Network([36, 8, 3], hidden="relu", dtype=np.float32, seed=1)  # relu: nothing saturates
    seen = [net.theta.copy()]

    def after_batch(event):
        if event.kind == "batch_end":
            seen.append(net.theta.copy())

    with pytest.raises(NumericalError, match="learning rate 1e\\+30 is probably too large") as info:
        fit(net, X, y, optimizer=SGD(lr=1e30), epochs=3, callbacks=[after_batch])
    assert np.isfinite(net.theta).all() and math.isfinite(net.loss(X, y))
    assert any(np.array_equal(net.theta, s) for s in seen)
    assert isinstance(info.value.history, History)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(st.sampled_from([np.float16, np.float32, np.float64]),
                  hnp.array_shapes(min_dims=1, max_dims=2, max_side=6)),
       st.booleans())
def test_all_finite_agrees_with_numpy_isfinite(a, strided):
    a = a[:, ::2] if strided and a.ndim == 2 else a  # non-contiguous takes the exact route
    assert all_finite(a) == bool(np.isfinite(a).all())


class _PlantedGradient(Network):
    """A network whose gradient gets one planted value: the cost stays finite."""

    planted = 0.0

    def loss_and_grad(self, X, Y, theta=None):
        J, grad = super().loss_and_grad(X, Y, theta)
        grad[3] = self.planted
        return J, grad


@pytest.mark.parametrize("planted, stops", [
    (np.inf, True), (np.nan, True),
    (1e20, False),  # finite, but its square overflows float32: the exact test decides
])
def test_a_non_finite_gradient_stops_training_even_when_the_cost_is_finite(planted, stops):
    X, y = _images()
    net = _PlantedGradient([36, 8, 3], dtype=np.float32, seed=1)
    net.planted = planted
    before = net.theta.copy()
    if stops:
        with pytest.raises(NumericalError, match="the gradient overflowed"):
            fit(net, X, y, optimizer="adam", epochs=1)
        assert np.array_equal(net.theta, before)
    else:
        fit(net, X, y, optimizer="adam", epochs=1)
        assert np.isfinite(net.theta).all()


def test_an_update_that_overflows_the_weights_stops_even_on_the_last_step():
    """One batch, one epoch: the only step is the last, and a finite gradient times 1e308
    overflows (float32, as gradcheck train's default); the run must not hand on infinite weights."""
    X, y = _images()
    net = Network([36, 8, 3], hidden="relu", dtype=np.float32, seed=1)
    before = net.theta.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings either: the error explains
        with pytest.raises(NumericalError, match="the update overflowed the weights"):
            fit(net, X, y, optimizer=SGD(lr=1e308), epochs=1, batch_size=len(X))
    assert np.array_equal(net.theta, before)


def test_keyboard_interrupt_from_a_callback_keeps_the_model():
    X, y = _images()
    net, kept = _net(), {}

    def interrupt(event):
        if event.kind == "batch_end" and event.epoch == 2 and event.batch == 3:
            kept["theta"] = net.theta.copy()
            raise KeyboardInterrupt

    history = fit(net, X, y, epochs=5, batch_size=32, validation=0.2, callbacks=[interrupt])
    assert history.interrupted and len(history) == 1
    assert np.array_equal(net.theta, kept["theta"])


def test_ctrl_c_stops_after_the_current_batch():
    X, y = _images()
    net, batches = _net(), []
    before = signal.getsignal(signal.SIGINT)

    def press_ctrl_c(event):
        if event.kind == "batch_end":
            batches.append(event.batch)
            if len(batches) == 2:
                os.kill(os.getpid(), signal.SIGINT)

    history = fit(net, X, y, epochs=5, batch_size=32, callbacks=[press_ctrl_c])
    assert history.interrupted and batches == [1, 2]
    assert signal.getsignal(signal.SIGINT) is before


def _checkpointed_run(tmp_path, **kw):
    X, y = _images(side=6)
    settings = dict(epochs=4, batch_size=32, validation=0.2, augment=Augment((6, 6), shift=1),
                    seed=3, lr=0.02)
    return X, y, {**settings, **kw}


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    X, y, settings = _checkpointed_run(tmp_path)
    straight = _net()
    expected = fit(straight, X, y, **settings)

    def stop_after_epoch_2(event):
        if event.kind == "epoch_end" and event.epoch == 2:
            raise KeyboardInterrupt

    first = _net()
    ckpt = tmp_path / "ckpt.npz"
    fit(first, X, y, checkpoint_every=2, checkpoint_path=ckpt, callbacks=[stop_after_epoch_2], **settings)
    resumed = _net(seed=99)  # its own initial weights are replaced by the checkpoint's
    history = fit(resumed, X, y, resume=ckpt, **settings)
    assert np.array_equal(resumed.theta, straight.theta)
    assert history["train_loss"] == expected["train_loss"] and history["val_loss"] == expected["val_loss"]


@pytest.mark.parametrize("change,error,message", [
    ({"batch_size": 16}, ConfigError, "batch_size=32"),
    ({"seed": 4}, ConfigError, "seed=3"),
    ({"data": True}, ConfigError, "data_crc32"),
    ({"net": True}, ModelFileError, "same network"),
])
def test_resume_refuses_a_checkpoint_of_another_run(change, error, message, tmp_path):
    X, y, settings = _checkpointed_run(tmp_path)
    ckpt = tmp_path / "ckpt.npz"
    fit(_net(), X, y, checkpoint_every=2, checkpoint_path=ckpt, **settings)
    net = _net(hidden=9) if change.pop("net", False) else _net()
    if change.pop("data", False):
        X = X[::-1].copy()
    with pytest.raises(error, match=message):
        fit(net, X, y, resume=ckpt, **{**settings, **change})


def test_resume_refuses_a_model_file(tmp_path):
    X, y, settings = _checkpointed_run(tmp_path)
    net = _net()
    net.save(tmp_path / "model.npz")
    with pytest.raises(ModelFileError, match="it is a model, not a checkpoint"):
        fit(net, X, y, resume=tmp_path / "model.npz", **settings)


@pytest.mark.parametrize("method", ["lbfgs", "cg"])
def test_full_batch_methods_lower_the_cost_one_record_per_iteration(method):
    X, y = _images()
    net = _net()
    before = net.loss(X, y)
    history = fit(net, X, y, optimizer=method, epochs=15, validation=0.2)
    assert history.method == {"lbfgs": "L-BFGS-B", "cg": "CG"}[method] and 1 <= len(history) <= 15
    assert history["lr"] == [None] * len(history)
    assert net.loss(X, y) < before


def test_full_batch_refuses_minibatch_options():
    X, y = _images()
    with pytest.raises(ConfigError, match="augment does not apply"):
        fit(_net(), X, y, optimizer="cg", augment="shift")


def test_shift_augmentation_moves_whole_pixels_and_is_seeded():
    image = np.zeros((1, 5, 5), np.float32)
    image[0, 2, 2] = 1.0
    X = np.repeat(image.reshape(1, 25), 50, axis=0)
    out = Augment((5, 5), shift=2)(X, np.random.default_rng(0))
    again = Augment((5, 5), shift=2)(X, np.random.default_rng(0))
    assert out.dtype == np.float32 and np.array_equal(out, again)
    assert np.all(out.sum(axis=1) == 1)  # the bright pixel moved, never lost or blurred
    positions = {int(np.argmax(row)) for row in out}
    assert len(positions) > 10 and all(0 <= p < 25 for p in positions)
    # on a 9x9 image the centre pixel moves at most 2 rows and 2 columns
    image = np.zeros((1, 81), np.float32)
    image[0, 40] = 1.0
    moved = Augment((9, 9), shift=2)(np.repeat(image, 50, axis=0), np.random.default_rng(0))
    rows, cols = np.divmod(np.argmax(moved, axis=1), 9)
    assert np.all(moved.sum(axis=1) == 1) and np.all(np.abs(rows - 4) <= 2) and np.all(np.abs(cols - 4) <= 2)
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 10


def test_rotation_keeps_shape_dtype_and_mass_roughly():
    X, _ = _images(n=20, side=12)
    X = X.astype(np.float32)
    out = Augment((12, 12), shift=0, rotate=15)(X, np.random.default_rng(1))
    assert out.shape == X.shape and out.dtype == np.float32
    assert not np.array_equal(out, X)
    # a disc centred in the image looks the same at any angle: its mass stays within 0.5 %
    r, c = np.mgrid[0:12, 0:12]
    disc = np.repeat((((r - 5.5) ** 2 + (c - 5.5) ** 2) <= 9).astype(np.float32).reshape(1, 144), 20, axis=0)
    turned = Augment((12, 12), shift=0, rotate=15)(disc, np.random.default_rng(1))
    np.testing.assert_allclose(turned.sum(axis=1), disc.sum(axis=1), rtol=5e-3)
    assert np.abs(turned - disc).mean() < 0.05


def test_evaluate_counts_a_hand_made_confusion_matrix():
    net = Network([2, 2], hidden=[], output="softmax", seed=0)
    W, b = net.layers[0]
    W[...], b[...] = np.eye(2), 0  # predicts the larger feature's index
    X = np.array([[1, 0], [1, 0], [0, 1], [1, 0]], float)
    result = evaluate(net, X, [0, 0, 1, 1], labels=["cat", "dog"])
    assert result.confusion.tolist() == [[2, 0], [1, 1]] and result.accuracy == 0.75
    assert result.precision.tolist() == [2 / 3, 1.0] and result.recall.tolist() == [1.0, 0.5]
    assert result.to_dict()["labels"] == ["cat", "dog"]


@pytest.mark.parametrize("kwargs,error,message", [
    ({"epochs": 0}, ConfigError, "epochs must be an integer >= 1"),
    ({"batch_size": -1}, ConfigError, "batch_size must be an integer >= 1"),
    ({"lr": 0.0}, ConfigError, "lr (the learning rate) must be a finite number > 0"),
    ({"lr": -1.0}, ConfigError, "lr (the learning rate) must be a finite number > 0"),
    ({"optimizer": "adma"}, ConfigError, "did you mean 'adam'"),
    ({"early_stopping": 3}, ConfigError, "pass validation= too"),
    ({"checkpoint_every": 1}, ConfigError, "needs checkpoint_path"),
    ({"validation": 1.5}, ConfigError, "validation must be"),
    ({"augment": "zoom"}, ConfigError, "augment must be"),
    ({"optimizer": Adam(), "lr": 0.1}, ConfigError, "optimizer object"),
])
def test_bad_arguments_are_refused_with_one_sentence(kwargs, error, message):
    X, y = _images(n=40)
    with pytest.raises(error) as info:
        fit(_net(), X, y, **kwargs)
    assert message in str(info.value) and str(info.value).count(". ") == 0


@pytest.mark.parametrize("X_change,y_change,message", [
    (lambda X: X[:, :-1], None, "features but the network's input layer has 36"),
    (None, lambda y: y + 3, "labels must lie in [0, 3)"),
    (lambda X: np.where(X > 0.9, np.nan, X), None, "NaN or infinite"),
    (lambda X: X[:0], lambda y: y[:0], "non-empty"),
    (None, lambda y: y[:-1], "targets"),
])
def test_bad_data_is_refused(X_change, y_change, message):
    X, y = _images(n=40)
    X = X_change(X) if X_change else X
    y = y_change(y) if y_change else y
    with pytest.raises(DataError) as info:
        fit(_net(), X, y, epochs=1)
    assert message in str(info.value)


def test_numpy_integer_batch_size_and_seed_reach_the_checkpoint_as_numbers(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    history = fit(Network([3, 4, 2], seed=0), X, y, epochs=2, batch_size=np.int64(16), seed=np.int64(3),
                  checkpoint_every=1, checkpoint_path=tmp_path / "ck.npz")
    assert len(history) == 2
    header = read_header(tmp_path / "ck.npz", CHECKPOINT_FORMAT)
    assert header["settings"]["batch_size"] == 16 and header["settings"]["seed"] == 3
