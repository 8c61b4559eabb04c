"""Data: named datasets and files (:mod:`~gradcheck.data.datasets`), the readers of IDX, CSV
and .mat files, the MNIST download, and the inputs ``gradcheck predict`` reads
(:mod:`~gradcheck.data.inputs`: images, .npy, CSV rows).

Depends only on :mod:`gradcheck.errors` and :mod:`gradcheck._files`.
"""
from gradcheck.data.arrays import Dataset, one_hot, train_val_split
from gradcheck.data.datasets import DATASET_NAMES, default_cache_dir, load_dataset
from gradcheck.data.idx import read_idx

__all__ = ["Dataset", "load_dataset", "DATASET_NAMES", "default_cache_dir", "one_hot",
           "train_val_split", "read_idx"]
