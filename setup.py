"""The optional compiled checker core (harness/checker/native, a PyO3 crate) as a setuptools-rust
extension; everything else about the package is in pyproject.toml.

``optional=True``: where cargo is missing or the build fails, the install goes on and the
checker runs its Python search (``harness/checker/searchcore.py`` says which core decided).
``CHAOSPLANE_NATIVE=0`` skips the crate altogether (the container images do not need it: the
checker runs on the host). The image wheel build copies neither this file nor the crate.
"""

import os
from pathlib import Path

from setuptools import setup

extensions = []
crate = Path(__file__).parent / "harness" / "checker" / "native" / "Cargo.toml"
if os.environ.get("CHAOSPLANE_NATIVE", "1") != "0" and crate.is_file():
    try:
        from setuptools_rust import Binding, RustExtension
    except ImportError:  # a build without the build requirements (--no-build-isolation)
        print("setup.py: setuptools-rust not installed: the checker uses its Python search")
    else:
        extensions.append(
            RustExtension(
                "harness.checker._native",
                path=str(crate.relative_to(Path(__file__).parent)),
                binding=Binding.PyO3,
                optional=True,
                py_limited_api="auto",
                debug=False,
            )
        )

setup(rust_extensions=extensions)
