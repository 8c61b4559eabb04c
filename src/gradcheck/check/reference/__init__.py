"""Reference mode: given the network the user meant, which catalogued textbook mistake
(:mod:`~gradcheck.check.reference.mistakes`) their gradient or cost matches
(:mod:`~gradcheck.check.reference.compare`), in whichever layout of theta and numbering of
labels they used (:mod:`~gradcheck.check.reference.layouts`).
"""
