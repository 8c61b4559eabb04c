"""Reliability (issue 14), the network and its files: ``Network.load_mat`` on crafted files
(case 6), sizes and header values of the wrong type (case 10), a model with NaN weights never
written (case 1), temporary files of killed saves removed (case 3).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

from gradcheck import Network
from gradcheck.cli import main
from gradcheck.errors import ExitStatus

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run_python(code: str, *args, timeout=120):
    """Run ``code`` in a fresh interpreter that imports this checkout's gradcheck."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


_LOAD_MAT = """
    import resource, sys
    from gradcheck import Network
    for path in sys.argv[1:]:  # one interpreter for every file: a crash fails them all
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            Network.load_mat(path)
            outcome = "loaded"
        except Exception as exc:
            outcome = f"refused {getattr(exc, 'exit_status', None)} {exc}"
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
        print(f"{grown} {outcome}")
"""


def _patched_mat(path, offset, value):
    """Theta1 3x5 and Theta2 2x4 saved by savemat, one byte changed.  Theta1's array flags
    sit at byte 144 (the complex flag is 0x08 of byte 145), its dimensions at 160, its name
    at 176 and its data tag at 184."""
    Network([4, 3, 2], seed=0).save_mat(path)
    raw = bytearray(path.read_bytes())
    raw[offset] = value
    path.write_bytes(bytes(raw))
    return path


def _inflating_mat(path, rows, cols):
    """A MAT 5 file whose one compressed variable, Theta1, inflates to rows x cols doubles of 0,
    written in pieces so the test itself never holds the inflated bytes."""
    body = bytearray()
    body += (6).to_bytes(4, "little") + (8).to_bytes(4, "little") + (6).to_bytes(8, "little")
    body += (5).to_bytes(4, "little") + (8).to_bytes(4, "little")
    body += rows.to_bytes(4, "little") + cols.to_bytes(4, "little")
    body += (1 | 6 << 16).to_bytes(4, "little") + b"Theta1\0\0"
    nbytes = 8 * rows * cols
    body += (9).to_bytes(4, "little") + nbytes.to_bytes(4, "little")
    head = (14).to_bytes(4, "little") + (len(body) + nbytes).to_bytes(4, "little") + bytes(body)
    z = zlib.compressobj(1)
    parts = [z.compress(head)]
    zeros = bytes(1 << 22)
    for _ in range(nbytes >> 22):
        parts.append(z.compress(zeros))
    parts.append(z.compress(bytes(nbytes & ((1 << 22) - 1))) + z.flush())
    stream = b"".join(parts)
    header = b"MATLAB 5.0 MAT-file, crafted".ljust(116, b" ") + bytes(8) + b"\x00\x01IM"
    path.write_bytes(header + (15).to_bytes(4, "little") + len(stream).to_bytes(4, "little") + stream)
    return path


CRAFTED = [
    (145, 0x08, "complex"),            # the complex flag without an imaginary part: a segfault
    (184, 76, "unknown data type"),    # an undefined data type
    (176, ord("L"), "skip a number"),  # Lheta1: Theta2 without Theta1
    (160, 0xFF, "declares"),           # dimensions that disagree with the data
]


def test_load_mat_checks_the_file_before_scipy_reads_it_and_bounds_its_memory(tmp_path):
    """Before: a segmentation fault inside scipy.io.loadmat (status -11) for the complex flag,
    and a 779 KB file used 2.4 GB; here 320 MB of zeros packed into 1.4 MB (deflate level 1)."""
    bomb = _inflating_mat(tmp_path / "bomb.mat", 10_000, 4_001)
    assert bomb.stat().st_size < 2_000_000
    crafted = [_patched_mat(tmp_path / f"bad{k}.mat", offset, value)
               for k, (offset, value, _) in enumerate(CRAFTED)]
    proc = run_python(_LOAD_MAT, bomb, *crafted)  # the bomb first, while memory is at its base
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    grown_kb, outcome = lines[0].split(" ", 1)
    assert outcome.startswith("refused 4 ") and "too large" in outcome, outcome
    assert int(grown_kb) < 32 * 1024, f"memory grew by {int(grown_kb) >> 10} MB refusing {bomb.stat().st_size} bytes"
    for line, (_, _, phrase) in zip(lines[1:], CRAFTED):
        outcome = line.split(" ", 1)[1]
        assert outcome.startswith("refused 4 ") and phrase in outcome, outcome


@pytest.mark.parametrize("hidden", ["tanh", "relu"])
def test_load_mat_takes_the_hidden_activation(tmp_path, hidden):
    """Network.load_mat cannot know the activation (the course's files hold Theta alone)."""
    net = Network([5, 4, 3], hidden=hidden, seed=0)
    net.save_mat(tmp_path / "w.mat")
    back = Network.load_mat(tmp_path / "w.mat", hidden=hidden)
    assert [a.name for a in back.hidden] == [hidden]
    X = np.random.default_rng(0).standard_normal((6, 5))
    assert np.allclose(back.forward(X), net.forward(X))


@pytest.mark.parametrize("sizes", [[8, 2.5, 3], [8, True, 3], [8, "4", 3], [8, None, 3], [8, 4.0, 3]])
def test_network_sizes_must_be_integers(sizes):
    """Before: 2.5 became 2, True became 1 and "4" became 4 without a word."""
    with pytest.raises(Exception) as info:
        Network(sizes)
    assert getattr(info.value, "exit_status", None) == ExitStatus.USAGE
    assert repr(sizes[1]) in str(info.value)


def one_sentence(err: str) -> str:
    """The error line on stderr, after checking it is the only thing there (no traceback)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("key, value", [("l2", True), ("l2", "1"), ("sizes", [3, True, 2]),
                                        ("sizes", [3, 2.0, 2])])
def test_a_model_header_value_of_the_wrong_type_is_refused(tmp_path, key, value, capsys):
    """Before: ``"l2": true`` was read as 1.0."""
    Network([3, 2, 2], seed=0).save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        header, theta = json.loads(z["header"].tobytes()), z["theta"].copy()
    header[key] = value
    with open(tmp_path / "bad.npz", "wb") as fh:
        np.savez(fh, header=np.frombuffer(json.dumps(header).encode(), np.uint8), theta=theta)
    assert main(["show", str(tmp_path / "bad.npz")]) == ExitStatus.MODEL
    line = one_sentence(capsys.readouterr().err)
    assert repr(key) in line or key in line


def test_a_model_with_non_finite_weights_is_never_written(tmp_path):
    path = tmp_path / "m.npz"
    good = Network([3, 2, 2], seed=0)
    good.save(path)
    before = path.read_bytes()
    broken = Network([3, 2, 2], seed=1)
    broken.theta[1] = np.nan
    with pytest.raises(Exception) as info:
        broken.save(path)
    assert getattr(info.value, "exit_status", None) == ExitStatus.MODEL
    assert "NaN or infinite" in str(info.value)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["m.npz"]


_KILLED_SAVER = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from gradcheck import Network

    def die(*args, **kwargs):  # the process is killed while it writes the temporary file
        os.kill(os.getpid(), signal.SIGKILL)

    np.savez = die
    Network([3, 2, 2], seed=0).save(sys.argv[1])
""")


def test_the_next_save_removes_temporary_files_a_killed_save_left(tmp_path):
    path = tmp_path / "m.npz"
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run([sys.executable, "-c", _KILLED_SAVER, str(path)], env=env)
    assert proc.returncode == -signal.SIGKILL
    left = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert len(left) == 1 and left[0].startswith(".m.npz."), left
    Network([3, 2, 2], seed=0).save(path)
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]



def test_a_save_leaves_the_temporary_files_of_other_names_alone(tmp_path):
    """Saving ``run`` must not take ``.run.77777.PID.x.tmp`` (a save of ``run.77777`` by a live
    process) for a killed save of ``run`` by PID 77777."""
    other = tmp_path / f".run.77777.{os.getpid()}.abcd1234.tmp"
    other.write_bytes(b"in progress")
    stale = tmp_path / ".run.2147483646.abcd1234.tmp"  # no such process
    stale.write_bytes(b"left by a killed save")
    Network([3, 2, 2], seed=0).save(tmp_path / "run")
    assert other.exists() and not stale.exists()
