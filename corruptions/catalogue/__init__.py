"""The 19 built-in corruptions (15 common + 4 extra), registered on import."""
from . import blur, digital, noise, weather  # noqa: F401
