"""The book (the top layer: only notebooks and the command line import it).

* :mod:`.pipeline` — profiles, cached notebook execution with papermill, the Jupyter Book build;
* :mod:`.report` — :class:`Report`: a chapter's figures and tables, written atomically;
* :mod:`.plots` — the figures the chapters draw;
* :mod:`.cli` — ``nasvec book --profile quick|standard|paper [--only CH] [--force] [--no-html]``.
"""

from ..errors import BookError
from .pipeline import (Chapter, Paths, Profile, assemble_site, available_profiles, build, build_html, cache_key,
                       chapters, execute, execute_all, is_fresh, load_profile, notebook_hash, notebook_parameters,
                       package_hash, read_toc, shared)
from .report import Report

__all__ = ["BookError", "Chapter", "Paths", "Profile", "Report", "assemble_site", "available_profiles", "build",
           "build_html", "cache_key", "chapters", "execute", "execute_all", "is_fresh", "load_profile",
           "notebook_hash", "notebook_parameters", "package_hash", "read_toc", "shared"]
