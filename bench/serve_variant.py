"""`seam-api serve` with python-engineio's writer chosen: `library` (its own `poll`) or
`writer` (seam_api.core.engineio_writer installed), so the bench can weigh the two back to back
whatever the application installs by itself. Usage: `python bench/serve_variant.py VARIANT`.
"""

from __future__ import annotations

import sys

from seam_api.core import engineio_writer

if __name__ == "__main__":
    variant = sys.argv.pop(1)
    if variant == "writer":
        engineio_writer.install()
    else:
        # The application may call install() itself: marked done, it changes nothing.
        engineio_writer._installed = True
    from seam_api.cli import app

    sys.argv[1:] = ["serve"]
    app()
