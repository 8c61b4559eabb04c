"""The doctor: why a gradient disagrees with central differences.

:mod:`~gradcheck.check.doctor.diagnosis` holds a finding (:class:`Diagnosis`) and the registry
of codes; :mod:`~gradcheck.check.doctor.detectors` runs the detectors (:func:`diagnose`,
:func:`check_arrays`); a failing block is split into parts
(:mod:`~gradcheck.check.doctor.segments`) each fitted with one relation
(:mod:`~gradcheck.check.doctor.relations`: agree, zero, factor k, L2 term c theta, constant) by
:mod:`~gradcheck.check.doctor.blockwise`, told as findings (:mod:`~gradcheck.check.doctor.findings`)
with hints derived from which layers differ (:mod:`~gradcheck.check.doctor.hints`). Blocks are
inferred from the user's module when none are given (:mod:`~gradcheck.check.doctor.blocks_infer`),
and what user code changes in place is watched (:mod:`~gradcheck.check.doctor.mutation`).
"""
