"""The published edition: every chapter executed in the standard profile, kept in the repository.

``editions/<profile>/<chapter>/`` holds what a reader needs without running anything::

    <chapter>.ipynb   the executed notebook: outputs included, figures embedded at page resolution
    tables/*.csv      the chapter's tables, as the run wrote them
    manifest.json     commit, date, profile digest, the fingerprint of the chapter's inputs, machine,
                      backend and workers, wall seconds, package versions, the digests of the files above

A chapter's inputs are its notebook's cells, its parameters in the profile, the ``nasvec`` modules it
imports (:func:`import_closure`: the import graph read from the source, so a change to a module the
chapter never imports leaves it fresh) and the data files it read (:func:`nasvec.utils.record_input`).
:func:`status` compares them with the manifest's: *fresh*, *stale* (with what changed), *missing*, or
*altered* (the folder's files differ from the digests its manifest recorded). :func:`update`
re-executes the stale chapters and replaces each chapter's folder only once its run has finished, so
a run stopped half-way keeps the chapters it finished. :func:`render` builds the HTML book from the
edition without executing anything; :func:`print_pdf` prints it to one PDF.
"""

from .import_graph import import_closure, notebook_tree, package_root
from .manifest import (INPUT_KINDS, MANIFEST, MANIFEST_KEYS, PROFILE, ChapterStatus, chapter_dir, chapter_status,
                       check_files, current_inputs, data_label, data_path, edition_chapters, edition_dir,
                       input_fingerprint, read_manifest, status)
from .pages import edition_page, print_pdf, render
from .publish import provenance_line, publish, update
from .shown_tables import table_mismatches

__all__ = ["INPUT_KINDS", "MANIFEST", "MANIFEST_KEYS", "PROFILE", "ChapterStatus", "chapter_dir", "chapter_status",
           "check_files", "current_inputs", "data_label", "data_path", "edition_chapters", "edition_dir",
           "edition_page", "import_closure", "input_fingerprint", "notebook_tree", "package_root", "print_pdf", "provenance_line",
           "publish", "read_manifest", "render", "status", "table_mismatches", "update"]
