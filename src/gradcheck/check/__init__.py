"""Checking and diagnosing gradients.

- :mod:`~gradcheck.check.numerical`: central differences and the agreement thresholds;
  :mod:`~gradcheck.check.report`: :class:`GradientReport`; :mod:`~gradcheck.check.gradient`:
  :func:`check_gradient`, :func:`check_network`.
- :mod:`~gradcheck.check.fast` (structure-aware and process-parallel evaluators),
  :mod:`~gradcheck.check.quick` (directional check and bisection).
- :mod:`~gradcheck.check.doctor.diagnosis` (a finding), :mod:`~gradcheck.check.doctor.detectors` (the doctor's
  rules: sign flip, scale factor, transposed block, kink, ...), :mod:`~gradcheck.check.jacobian`.
- :mod:`~gradcheck.check.reference.mistakes` (the catalogue of textbook mistakes),
  :mod:`~gradcheck.check.reference.layouts` (how users pack theta and number labels) and
  :mod:`~gradcheck.check.reference.compare` (which mistake a user's gradient matches, in which layout).
- :mod:`~gradcheck.check.userinput` (pasted columns, ``FILE.py:FUNC``, what user code returns).
- Layers: :mod:`~gradcheck.check.layer.check` (:func:`check_layer`, the numerical vector-Jacobian
  product), :mod:`~gradcheck.check.layer.calls` (calling a layer as it is written),
  :mod:`~gradcheck.check.layer.detectors` (shapes, order, upstream gradient, mutation),
  :mod:`~gradcheck.check.layer.mistakes` and :mod:`~gradcheck.check.layer.reference` (the
  catalogue of layer mistakes and which of them a backward matches).

Depends on :mod:`gradcheck.nn` and :mod:`gradcheck.errors`.
"""
from gradcheck.check.doctor.detectors import check_arrays, diagnose
from gradcheck.check.doctor.diagnosis import Diagnosis
from gradcheck.check.gradient import check_gradient, check_network
from gradcheck.check.jacobian import check_jacobian
from gradcheck.check.layer.check import LayerReport, check_layer
from gradcheck.check.numerical import TOLERANCE, numerical_gradient, relative_error
from gradcheck.check.quick import QuickReport, quick_check
from gradcheck.check.reference.compare import ReferenceResult, compare_reference, match_reference
from gradcheck.check.report import GradientReport

__all__ = ["check_gradient", "check_network", "check_arrays", "check_jacobian", "quick_check",
           "diagnose", "match_reference", "compare_reference", "ReferenceResult", "numerical_gradient",
           "relative_error", "Diagnosis", "GradientReport", "QuickReport", "TOLERANCE", "check_layer",
           "LayerReport"]
