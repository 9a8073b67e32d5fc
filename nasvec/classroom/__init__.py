"""The classroom: chapters' assignments, one variant per student, graded by otter-grader.

* :mod:`~nasvec.classroom.master`: an assignment master (``assignments/<chapter>.py``): reading,
  checking, the students' variants, the book's *Exercises* sections;
* :mod:`~nasvec.classroom.assign`: ``nasvec assign`` — a class set (papermill + ``otter assign``);
* :mod:`~nasvec.classroom.grade`: ``nasvec grade`` — scores (``otter run``, no Docker).

Introduced on the book's page *For teachers*.
"""
