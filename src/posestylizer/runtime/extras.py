"""Optional dependencies: import a module of an extra, or say in one line which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from posestylizer.errors import ConfigError


def import_extra(module: str, extra: str, purpose: str) -> ModuleType:
    """``importlib.import_module(module)``, or ConfigError naming ``pip install 'posestylizer[extra]'``.

    Args:
        module: dotted module name, e.g. ``onnxruntime``.
        extra: the pyproject extra that installs it, e.g. ``onnx``.
        purpose: what needs it, for the message, e.g. ``ONNX export``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ConfigError(f"{purpose} needs the '{extra}' extra: pip install 'posestylizer[{extra}]' ({err})") from None
