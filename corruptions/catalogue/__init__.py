"""The built-in corruptions, registered on import: the C suite (15 common + 4 extra) and
the ten of CIFAR-10-C-bar."""
from . import blur, cbar, digital, noise, weather  # noqa: F401
