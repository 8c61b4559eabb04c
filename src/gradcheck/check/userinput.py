"""Reading what users give the doctor: two pasted columns of numbers, a
``FILE.py:FUNC`` to import, and the values their code returns (checked for shape,
dtype, tensors and NaN, each refusal one sentence)."""
from __future__ import annotations

import importlib.util
import os
import re
import stat
import sys
import types
from pathlib import Path

import numpy as np

from gradcheck._files import read_npy_stream, read_numeric_npy
from gradcheck.check.fast import supports_structure
from gradcheck.errors import ConfigError, DataError, UserCodeError, nearest_name

__all__ = ["read_columns", "load_function", "module_values", "watched_arrays", "samples_and_features"]

_NUMBER = re.compile(r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?|nan|inf(?:inity)?)", re.I)
_SEPARATORS = re.compile(r"[\s,;()\[\]]+")
_NUMERICAL_WORDS = ("numer", "approx", "finite", "数值")
_ANALYTIC_WORDS = ("analytic", "function", "backprop", "computed", "解析")
#: Largest --columns text file, .npy file or --data archive member the doctor reads.
MAX_INPUT_BYTES = 256 << 20


def _pair(line: str) -> tuple[float, float] | None:
    """The first two numbers of a line, when the line starts with two numbers."""
    tokens = [t for t in _SEPARATORS.split(line.strip()) if t]
    if len(tokens) >= 2 and all(_NUMBER.fullmatch(t) for t in tokens[:2]):
        return float(tokens[0].replace("d", "e").replace("D", "e")), float(
            tokens[1].replace("d", "e").replace("D", "e"))
    return None


def _header_order(line: str) -> bool | None:
    """True if a header names the analytic column first, False if the numerical one, else None."""
    text = line.lower()
    num = [text.find(w) for w in _NUMERICAL_WORDS if w in text]
    ana = [text.find(w) for w in _ANALYTIC_WORDS if w in text]
    return min(ana) < min(num) if num and ana else None


def _significant_digits(token: str) -> int:
    mantissa = re.split(r"[eEdD]", token.lstrip("+-"))[0].replace(".", "").lstrip("0")
    return len(mantissa)


def read_columns(path, analytic_first: bool | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read two pasted columns: ``(numerical, analytic, info)``.

    Lines that start with two numbers are data ("(-0.0087, 0.0)" parses too); other lines
    are skipped, except that the last header line before the data that names both columns
    ("Function Gradient  Numerical Gradient", "Numerical Analytic") decides their order.
    Numerical first by default; ``analytic_first`` overrides.  ``info`` holds the order,
    its source and the median number of significant digits pasted.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the read forever
            raise DataError(f"{path} is not a regular file; give a text file of the two columns.")
        size = Path(path).stat().st_size
        if size > MAX_INPUT_BYTES:
            raise DataError(f"{path} has {size} bytes, over the {MAX_INPUT_BYTES}-byte limit for "
                            f"pasted columns; give the gradient columns alone.")
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read {path} ({exc.strerror}); check the path.") from exc
    rows, order_seen, digits = [], None, []
    for line in lines:
        pair = _pair(line)
        if pair is not None:
            rows.append(pair)
            digits += [_significant_digits(t) for t in _SEPARATORS.split(line.strip()) if t][:2]
        elif not rows and not line.lstrip().startswith("#"):
            order_seen = _header_order(line) if _header_order(line) is not None else order_seen
    if len(rows) < 1:
        raise DataError(f"{path} holds no lines of two numbers; paste numerical and analytic columns.")
    first = analytic_first if analytic_first else bool(order_seen)
    source = "--analytic-first" if analytic_first else ("header" if order_seen is not None else "default")
    table = np.array(rows)
    numerical, analytic = (table[:, 1], table[:, 0]) if first else (table[:, 0], table[:, 1])
    significant = [d for d in digits if d > 0]
    info = {"analytic_first": first, "order_from": source, "rows": len(rows),
            "digits": int(np.median(significant)) if significant else None}
    return numerical, analytic, info


_MODULES: dict[Path, object] = {}


def _import_path(path: Path):
    if path in _MODULES:
        return _MODULES[path]
    spec = importlib.util.spec_from_file_location(f"gradcheck_user_{len(_MODULES)}_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise UserCodeError(f"cannot import {path}: it is not a Python file; give FILE.py:FUNCTION.")
    module = importlib.util.module_from_spec(spec)
    # registered under its unique name, so --workers can send its functions to other processes
    sys.modules[spec.name] = module
    sys.path.insert(0, str(path.parent))  # so the module can import its neighbours
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # the user's code: SystemExit, GeneratorExit, their own classes
        del sys.modules[spec.name]
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise UserCodeError(f"importing {path} raised {_raised(exc)}; fix the module.") from exc
    finally:
        sys.path.remove(str(path.parent))
    _MODULES[path] = module
    return module


def load_function(spec: str):
    """``"FILE.py:NAME"`` -> ``(module, function)``; UserCodeError in one sentence."""
    file, sep, name = spec.rpartition(":")
    if not sep or not file or not name:
        raise ConfigError(f"{spec!r} is not FILE.py:FUNCTION; write e.g. mynet.py:cost.")
    path = Path(file).resolve()
    if not path.is_file():
        raise UserCodeError(f"cannot find {file}; check the path before the colon in {spec!r}.")
    module = _import_path(path)
    fn = getattr(module, name, None)
    if not callable(fn):
        names = [k for k, v in vars(module).items() if callable(v) and not k.startswith("_")]
        head = (f"{file} defines no function {name!r}" if fn is None else
                f"{file} defines {name!r} as a {type(fn).__name__}, not a function")
        hint = nearest_name(name, names)
        if hint:
            raise UserCodeError(head + hint)
        own = [k for k in names if getattr(vars(module)[k], "__module__", None) == module.__name__]
        listing = f"it defines {', '.join(own[:8])}" if own else "it defines no functions"
        raise UserCodeError(f"{head}; {listing}: give FILE.py:FUNCTION with one of those.")
    return module, fn


def module_values(module) -> dict:
    """The data a user's module defines at top level (no functions, classes or modules), in
    definition order, tensors read as NumPy arrays (also inside lists, tuples and dicts)."""
    out = {}
    for name, value in vars(module).items():
        if name.startswith("__") or callable(value) or isinstance(value, types.ModuleType):
            continue
        out[name] = {k: to_numpy(v) for k, v in value.items()} if isinstance(value, dict) else to_numpy(value)
    return out


def watched_arrays(values: dict) -> dict[str, np.ndarray]:
    """The arrays among a module's values (top level, in dicts and lists) that its functions
    could change in place, named as the module would write them (``X``, ``params['W1']``)."""
    out = {}
    for name, value in values.items():
        if isinstance(value, np.ndarray):
            out[name] = value
        elif isinstance(value, (dict, list, tuple)):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            out.update({f"{name}[{key!r}]": item for key, item in items if isinstance(item, np.ndarray)})
    return out


def samples_and_features(X, y) -> tuple[int | None, int | None]:
    """``(m, n_features)`` from the data: one sample per row, or per column when X and y share
    their last axis but not their first (Nielsen's layout, x as a column)."""
    if X is None:
        return None, None
    X = np.asarray(X)
    if X.ndim != 2:
        return (len(X), None) if X.ndim else (None, None)
    y = None if y is None else np.asarray(y)
    columns = (y is not None and y.ndim == 2 and X.shape[1] == y.shape[1] and X.shape[0] != y.shape[0])
    return (X.shape[1], X.shape[0]) if columns else (X.shape[0], X.shape[1])


def _str_works(exc: BaseException) -> bool:
    try:
        str(exc)
    except Exception:  # the user's __str__
        return False
    return True


def _raised(exc: BaseException) -> str:
    """``Type: message`` of an exception from the user's code, whose own ``__str__`` may raise.

    (``os._exit`` in user code ends the process before anything can be said: it cannot be
    intercepted in-process.)
    """
    try:
        text = str(exc)
    except Exception as failure:  # the user's __str__
        text = f"(its message could not be printed: __str__ raised {type(failure).__name__})"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load_npy(path) -> np.ndarray:
    """A .npy file of real numbers as a flat vector; never unpickled, size checked first."""
    return read_numeric_npy(path, DataError, MAX_INPUT_BYTES).ravel()


class Unusable(UserCodeError):
    """A value the user's function returned that the doctor cannot use."""


def from_tensor(value):
    """A torch tensor (or one like it) as a NumPy array, detached from autograd; else ``value``."""
    if not (callable(getattr(value, "detach", None)) and callable(getattr(value, "numpy", None))):
        return value
    try:
        tensor = value.detach().cpu()
        if str(tensor.dtype) == "torch.bfloat16":  # no NumPy dtype; float32 is still low precision
            tensor = tensor.float()
        return tensor.numpy()
    except Exception:  # not readable after all: what NumPy makes of it decides
        return value


def to_numpy(value):
    """``value`` with tensors, also inside a tuple or list, turned into NumPy arrays."""
    if type(value) in (tuple, list):
        return type(value)(to_numpy(v) for v in value)
    return from_tensor(value)


def describe_value(value) -> str:
    """What a returned value is, in a few words: 'a list of 2 items', 'an array of shape (6,)'."""
    if isinstance(value, (tuple, list)):
        return f"an empty {type(value).__name__}" if not value else (
            f"a {type(value).__name__} of {len(value)} items")
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} ({value.dtype})"
    if value is None or isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, float, complex, np.number)):
        return f"the number {value}"
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def _shape(value) -> str:
    try:
        return str(np.shape(value))
    except Exception:  # itself ragged
        return "?"


class Checked:
    """The user's function, what it returns made readable by NumPy or refused in one sentence.

    Tensors are detached and copied (their dtype kept: float32 is evidence for the doctor);
    values NumPy cannot hold as one array (per-layer gradients of different shapes, a list
    ``[J, grad]``, an empty tuple) are refused naming the function.  Defined at module level,
    so --workers can pickle it.  ``role`` is "cost", "gradient" or "pair" (returns (J, grad)).
    """

    def __init__(self, fn, spec: str, role: str):
        self.fn, self.spec, self.role = fn, spec, role

    @classmethod
    def wrap(cls, fn, spec: str, role: str):

        # a Network objective returns clean floats, and its type picks the fast evaluator
        return fn if supports_structure(fn) else cls(fn, spec, role)

    def __call__(self, theta):
        try:
            value = to_numpy(self.fn(theta))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            # ordinary exceptions get the library's sentence; these would escape it or break it
            if isinstance(exc, (Exception, SystemExit)) and _str_works(exc):
                raise
            role = "gradient" if self.role == "gradient" else "cost"
            raise Unusable(f"the {role} function {self.spec} raised {_raised(exc)}; fix it.") from exc
        if self.role == "gradient":
            return self._gradient(value)
        if self.role == "cost":
            if isinstance(value, tuple) and value:
                return (self._cost(value[0]), *value[1:])
            return self._cost(value)
        if not (isinstance(value, tuple) and len(value) == 2):
            raise Unusable(f"the cost function {self.spec} returned {describe_value(value)}, not the "
                            f"tuple (J, grad) it must return when no gradient function is given; "
                            f"return (J, grad), or give FILE.py:GRAD after it.")
        return self._cost(value[0]), self._gradient(value[1])

    def _cost(self, value):
        try:
            array = np.asarray(value)
            usable = array.size == 1 and array.dtype.kind in "biuf"
        except Exception:  # any error the object's __array__ raises
            usable = False
        if not usable:
            raise Unusable(f"the cost function {self.spec} returned {describe_value(value)}, not one "
                            f"number; return the scalar cost J as a float.")
        return value

    def _gradient(self, value):
        try:
            np.asarray(value)
        except ValueError as exc:  # "inhomogeneous shape": per-layer arrays of different shapes
            if not isinstance(value, (tuple, list)):
                raise self._unreadable(value, exc) from exc
            shapes = ", ".join(_shape(v) for v in value[:4]) + (", ..." if len(value) > 4 else "")
            raise Unusable(f"the gradient function {self.spec} returned {describe_value(value)} of "
                            f"different shapes ({shapes}), not one vector; return one flat "
                            f"vector in theta's order, e.g. np.concatenate([g.ravel() for g in "
                            f"grads]).") from exc
        except Exception as exc:  # any error the object's __array__ raises
            raise self._unreadable(value, exc) from exc
        return value

    def _unreadable(self, value, exc) -> Unusable:
        return Unusable(f"the gradient function {self.spec} returned {describe_value(value)}, which "
                         f"NumPy cannot read ({type(exc).__name__}: {exc}); return a float array "
                         f"with one partial derivative per parameter.")


def read_xy(path):
    """Arrays X and y of an .npz archive, each member's header checked before it is read."""
    import zipfile

    hint = "save them with np.savez(path, X=X, y=y)"
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [k for k in ("X", "y") if f"{k}.npy" not in names]
            if missing:
                raise DataError(f"{path} has no array {missing[0]}; {hint}.")
            arrays = []
            for key in ("X", "y"):
                info = archive.getinfo(f"{key}.npy")
                with archive.open(info) as fh:
                    arrays.append(read_npy_stream(fh, info.file_size, f"{key} in {path}",
                                                  DataError, MAX_INPUT_BYTES))
    except DataError:
        raise
    except Exception as exc:  # zipfile raises BadZipFile, OSError, EOFError, ValueError, ...
        raise DataError(f"cannot read arrays X and y from {path} ({type(exc).__name__}: {exc}); "
                        f"{hint}.") from exc
    return arrays[0], arrays[1]
