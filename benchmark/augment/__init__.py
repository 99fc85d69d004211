"""Compression augmentations: families that transform a training set at a quality parameter."""
from .registry import (
                       AugmentContext,
                       AugmentSpec,
                       Family,
                       Transformed,
                       family_names,
                       get_family,
                       parse_params,
                       register_family,
)

__all__ = ["AugmentContext", "AugmentSpec", "Family", "Transformed", "family_names", "get_family",
           "parse_params", "register_family"]
