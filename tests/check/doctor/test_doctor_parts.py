"""The doctor's parts: relations fitted per part, runs of coordinates, lines of a block, blocks
inferred from a module, hints from which layers differ, and what a call changed in place."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck.check.doctor.blocks_infer import infer_blocks, suggest_blocks
from gradcheck.check.doctor.diagnosis import CODES
from gradcheck.check.doctor.hints import entry_hint, layer_of, reference_sizes
from gradcheck.check.doctor.mutation import Change, Watch, call_and_compare, changed_indices, describe_change
from gradcheck.check.doctor.relations import MODELS, Judge, fit_relation, longest_prefix
from gradcheck.check.doctor.segments import edge_lines, line_runs, segment
from gradcheck.check.userinput import samples_and_features, watched_arrays
from gradcheck.nn.blocks import Block

JUDGE = Judge(tolerance=1e-6, noise=1e-9, scale=1.0)
MODEL = {m.name: m for m in MODELS}


def columns(size=30, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(size), rng.uniform(-0.5, 0.5, size)


# --- relations ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, model, numbers", [
    (lambda n, t: n.copy(), "agree", {}),
    (lambda n, t: np.zeros_like(n), "zero", {"k": 0.0}),
    (lambda n, t: 3.0 * n, "factor", {"k": 3.0}),
    (lambda n, t: -n, "factor", {"k": -1.0}),
    (lambda n, t: n - 0.1 * t, "theta", {"c": -0.1}),
    (lambda n, t: n + 0.25, "constant", {"gamma": 0.25}),
    (lambda n, t: -n + 0.2 * t, "factor+theta", {"k": -1.0, "c": 0.2}),
    (lambda n, t: 10 * n - 0.9 * t, "factor+theta", {"k": 10.0, "c": -0.9}),
    (lambda n, t: 4 * n + 0.05, "factor+constant", {"k": 4.0, "gamma": 0.05}),
])
def test_each_relation_is_found_with_its_numbers(make, model, numbers):
    n, t = columns()
    rel = fit_relation(make(n, t), n, t, JUDGE)
    assert rel is not None and rel.model == model
    for name, value in numbers.items():
        assert getattr(rel, name) == pytest.approx(value, rel=1e-9, abs=1e-12)


def test_a_relation_that_is_not_one_is_not_fitted():
    n, t = columns()
    a = n * (1 + 0.3 * np.sin(np.arange(n.size)))  # a related but different function
    assert fit_relation(a, n, t, JUDGE) is None


def test_a_hand_worked_relation_and_its_formula():
    n = np.array([0.2, -0.4, 0.1, 0.3])
    t = np.array([0.5, 0.1, -0.2, 0.4])
    a = -n + 0.2 * t  # [-0.1, 0.42, -0.14, -0.22]
    np.testing.assert_allclose(a, [-0.1, 0.42, -0.14, -0.22])
    rel = fit_relation(a, n, t, JUDGE)
    assert rel.formula() == "a = -1 n + 0.2 theta"


def test_an_offset_at_a_single_coordinate_fits_nothing():
    n, _ = columns(6)
    t = np.zeros(6)
    t[3] = 0.7  # theta non-zero at one coordinate: c would fit that coordinate whatever it holds
    a = n.copy()
    a[3] += 1.0
    assert fit_relation(a, n, t, JUDGE) is None


def test_proportional_n_and_theta_read_as_the_simpler_factor():
    t = np.full(4, 0.3)
    n = 2 * t  # sum(theta^2): its gradient is proportional to theta
    assert fit_relation(-n, n, t, JUDGE).model == "factor"


@settings(max_examples=40, deadline=None)
@given(length=st.integers(3, 40), extra=st.integers(1, 30), k=st.floats(-5, 5).filter(lambda v: abs(v - 1) > 0.01),
       seed=st.integers(0, 2**16))
def test_longest_prefix_ends_where_the_relation_stops(length, extra, k, seed):
    rng = np.random.default_rng(seed)
    n = rng.standard_normal(length + extra)
    a = np.concatenate([k * n[:length], rng.standard_normal(extra)])  # then another function
    assert longest_prefix(MODEL["factor"], a, n, None, JUDGE) == length


# --- parts: lines of a block, runs of coordinates --------------------------------------------------------

def test_edge_lines_of_a_block_in_both_orders():
    block = Block("Theta1", 0, (2, 3), "F")
    found = {(order, line.label) for order, line, _ in edge_lines(block)}
    assert ("F", "column 0 of Theta1") in found and ("F", "row 1 of Theta1") in found
    assert ("C", "column 2 of Theta1 (read in C order)") in found
    assert {order for order, *_ in edge_lines(block, certain=True)} == {"F"}
    order, line, rest = next(item for item in edge_lines(block) if item[1].label == "column 0 of Theta1")
    assert line.indices.tolist() == [0, 1] and rest.indices.tolist() == [2, 3, 4, 5]


def test_line_runs_find_the_rows_that_disagree():
    block = Block("W", 0, (5, 4), "C")
    n = np.random.default_rng(1).standard_normal(20)
    a = n.copy()
    a[4:12] = 0.0  # rows 1-2
    [(order, [run], rest)] = [item for item in line_runs(block, a, n, JUDGE) if item[0] == "C"]
    assert run.label == "rows 1-2 of W" and run.lines == (1, 2)
    assert rest.indices.tolist() == [0, 1, 2, 3, *range(12, 20)]


def test_segment_names_the_runs_of_coordinates():
    n = np.random.default_rng(2).standard_normal(38)
    a = n.copy()
    a[20:] *= -1
    runs = segment(a, n, None, JUDGE)
    assert [(p.label, r.model, r.k) for p, r in runs] == [
        ("coordinates 0-19", "agree", 1.0), ("coordinates 20-37", "factor", -1.0)]


def test_too_many_runs_are_no_segmentation():
    n = np.random.default_rng(3).standard_normal(60)
    a = n * np.repeat([1, 2, 1, 3, 1, 4], 10)
    assert segment(a, n, None, JUDGE) is None


# --- blocks from the module ----------------------------------------------------------------------------------

def test_arrays_matched_to_theta_give_names_packing_and_order():
    rng = np.random.default_rng(0)
    values = {"X": rng.standard_normal((6, 3)), "Theta1": rng.standard_normal((4, 4)),
              "Theta2": rng.standard_normal((2, 5))}
    theta = np.concatenate([values["Theta1"].ravel(order="F"), values["Theta2"].ravel(order="F")])
    layout = infer_blocks(theta, values)
    assert [(b.name, b.shape, b.order) for b in layout.blocks] == [("Theta1", (4, 4), "F"),
                                                                   ("Theta2", (2, 5), "F")]
    assert layout.certain == {"Theta1", "Theta2"} and "values are theta's" in layout.source


def test_dicts_and_lists_of_arrays_packed_weights_then_biases():
    rng = np.random.default_rng(1)
    coefs_ = [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]
    intercepts_ = [rng.standard_normal(4), rng.standard_normal(2)]
    theta = np.concatenate([c.ravel() for c in coefs_ + intercepts_])
    layout = infer_blocks(theta, {"coefs_": coefs_, "intercepts_": intercepts_, "alpha": 0.1})
    assert [b.name for b in layout.blocks] == ["coefs_[0]", "coefs_[1]", "intercepts_[0]", "intercepts_[1]"]
    params = {"W1": coefs_[0], "b1": intercepts_[0]}
    theta = np.concatenate([params["W1"].ravel(), params["b1"]])
    assert [b.name for b in infer_blocks(theta, {"params": params}).blocks] == ["W1", "b1"]


@pytest.mark.parametrize("values, names", [
    ({"shapes": [(5, 5), (3, 6)]}, ["shapes[0]", "shapes[1]"]),
    ({"blocks": {"Theta1": "5x5", "Theta2": (3, 6)}}, ["Theta1", "Theta2"]),
    ({"input_layer_size": 4, "hidden_layer_size": 5, "num_labels": 3}, ["Theta1", "Theta2"]),
])
def test_shapes_and_the_courses_sizes_tile_theta(values, names):
    layout = infer_blocks(np.zeros(43), values)
    assert [b.name for b in layout.blocks] == names and not layout.certain


def test_nothing_that_tiles_theta_is_no_layout():
    assert infer_blocks(np.zeros(43), {"X": np.ones((10, 4)), "W": np.ones((5, 5))}) is None


@pytest.mark.parametrize("n_params, n_in, edges, expected", [
    (38, 3, {20}, "Theta1=5x4,Theta2=3x6"),
    (51, 4, {48}, "W1=4x6,b1=6,W2=6x3,b2=3"),
    (51, 4, {7}, None),
])
def test_suggested_blocks_put_an_edge_where_the_relation_changes(n_params, n_in, edges, expected):
    assert suggest_blocks(n_params, n_in, edges) == expected


# --- hints ---------------------------------------------------------------------------------------------------------

BLOCKS = [Block("W1", 0, (5, 4)), Block("b1", 20, (5,)), Block("W2", 25, (3, 5)), Block("b2", 40, (3,))]


def test_layers_from_names_and_from_order():
    assert layer_of(BLOCKS) == {"W1": 1, "b1": 1, "W2": 2, "b2": 2}
    listed = [Block("coefs_[0]", 0, (4, 5)), Block("coefs_[1]", 20, (5, 3))]
    assert layer_of(listed) == {"coefs_[0]": 1, "coefs_[1]": 2}
    unnamed = [Block("A", 0, (5, 4)), Block("c", 20, (5,)), Block("B", 25, (3, 5))]
    assert layer_of(unnamed) == {"A": 1, "c": 1, "B": 2}


@pytest.mark.parametrize("wrong, right, says", [
    ({"W1", "b1"}, {"W2", "b2"}, "the output delta is right"),
    ({"W2", "b2"}, {"W1", "b1"}, "computed from the same output delta, agree"),
    ({"W1"}, {"b1", "W2", "b2"}, "layer 1's bias gradient agrees"),
    ({"b2"}, {"W1", "b1", "W2"}, "layer 2's weight gradient agrees"),
    ({"W1", "b1", "W2", "b2"}, set(), "every layer differs"),
])
def test_where_the_error_enters_follows_from_which_blocks_differ(wrong, right, says):
    why, look = entry_hint(BLOCKS, wrong, right)
    assert says in why and look


def test_reference_sizes_from_the_blocks():
    assert reference_sizes(BLOCKS, 4, 3) == "sizes=4,5,3"
    course = [Block("Theta1", 0, (5, 5)), Block("Theta2", 25, (3, 6))]
    assert reference_sizes(course, 4, 3) == "sizes=4,5,3"
    assert reference_sizes([Block("theta", 0, (43,))], None, None) == "sizes=IN,HIDDEN,OUT"


# --- what a call changed ---------------------------------------------------------------------------------------------

def test_changed_indices_treat_nan_as_equal():
    before = np.array([1.0, np.nan, 3.0])
    assert changed_indices(before, np.array([1.0, np.nan, 4.0])).tolist() == [2]


@pytest.mark.parametrize("before, after, words", [
    ([1.0, 2.0], [0.0, 0.0], "set to 0"),
    ([255.0, 51.0], [1.0, 0.2], "multiplied by 0.00392157 (divided by 255)"),
    ([1.0, 2.0], [1.5, 2.5], "shifted by +0.5"),
    ([1.0, 2.0], [3.0, -1.0], "changed"),
])
def test_how_values_moved_is_described(before, after, words):
    change = Change("X", (2,), np.arange(2), np.array(before), np.array(after))
    assert describe_change(change) == words


def test_a_call_that_writes_into_theta_and_the_module_data_is_caught_and_undone():
    X = np.arange(1.0, 7.0).reshape(3, 2)
    watch = Watch({"X": X, "labels": np.array(["a"])})  # strings are not watched

    def cost(theta):
        theta[:2] = 0.0
        X[0] /= 2
        return float(theta.sum())

    changes, left = call_and_compare(cost, np.ones(4), watch)
    assert [(c.name, c.indices.tolist()) for c in changes] == [("theta", [0, 1]), ("X", [0, 1])]
    assert left.tolist() == [0, 0, 1, 1] and X[0].tolist() == [1.0, 2.0]  # put back
    assert set(watch.arrays) == {"X"}


def test_the_data_layout_and_the_module_arrays_are_read():
    assert samples_and_features(np.zeros((10, 4)), np.zeros(10)) == (10, 4)
    assert samples_and_features(np.zeros((3, 7)), np.zeros((2, 7))) == (7, 3)  # samples as columns
    values = {"X": np.zeros(2), "params": {"W1": np.ones(2)}, "weights": [np.ones(1)], "lam": 1.0}
    assert set(watched_arrays(values)) == {"X", "params['W1']", "weights[0]"}


# --- the codes ------------------------------------------------------------------------------------------------------

def test_every_code_has_a_rule_and_the_readme_table_lists_them_all():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Codes", 1)[1].split("\n\n", 2)[1]
    listed = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    assert listed == set(CODES)
    assert all(code.rule for code in CODES.values())
    assert [c.name for c in CODES.values() if c.fails_passing] == ["argument-modified"]
