"""The corruption engine: CIFAR-10-C / ImageNet-C corruptions, batched, deterministic."""
from .engine import CorruptionInputError, corrupt
from .registry import Corruption, get, names, parse_names, register_corruption
from .tables import SCALES, SEVERITIES, default_scale

__all__ = ["Corruption", "CorruptionInputError", "SCALES", "SEVERITIES", "corrupt",
           "default_scale", "get", "names", "parse_names", "register_corruption"]
