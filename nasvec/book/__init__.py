"""The book (the top layer: only notebooks and the command line import it).

* :mod:`.profiles` — the profiles: per-chapter and shared parameters;
* :mod:`.pipeline` — cached notebook execution with papermill, the Jupyter Book build;
* :mod:`.report` — :class:`Report`: a chapter's figures and tables, written atomically;
* :mod:`.plots` — the figures the chapters draw;
* :mod:`.cli` — ``nasvec book --profile quick|standard|paper [--only CH] [--force] [--no-html]``.
"""

from ..errors import BookError
from .pipeline import (Chapter, Paths, assemble_site, build, build_html, cache_key, chapters, execute, execute_all,
                       is_fresh, notebook_hash, notebook_parameters, package_hash, read_toc)
from .profiles import Profile, available_profiles, load_profile, shared
from .report import Report

__all__ = ["BookError", "Chapter", "Paths", "Profile", "Report", "assemble_site", "available_profiles", "build",
           "build_html", "cache_key", "chapters", "execute", "execute_all", "is_fresh", "load_profile",
           "notebook_hash", "notebook_parameters", "package_hash", "read_toc", "shared"]
