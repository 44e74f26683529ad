"""The wheel's one build step beyond setuptools' defaults: ship the default rules, the example configuration and
the systemd unit as package data (tocsin/data/, read through tocsin.shipped). The top-level folders stay the
source of truth; nothing is copied into daemon/, so there is no second copy to keep in step.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("rules/*.toml", "config.example.toml", "systemd/tocsin.service")


class BuildPyWithShippedFiles(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's files in place (tocsin.shipped)
        target = Path(self.build_lib) / "tocsin" / "data"
        for pattern in SHIPPED:
            sources = sorted(ROOT.glob(pattern))
            if not sources:
                raise SystemExit(f"setup.py: nothing matches {pattern}: the wheel would ship without it")
            for source in sources:
                destination = target / source.relative_to(ROOT)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, destination)


setup(cmdclass={"build_py": BuildPyWithShippedFiles})
