"""``bench verify``: every committed number against the code that made it.

One entry point, ``session.verify(options)``, yields what it checked as it goes
(``Outcome``), what it could not check (``Note``) and how long each stage took (``Stage``);
the command prints them. The rooms, in the order a check runs:

* ``compare``: how a value is held to its recomputation (``Mismatch``, ``Tolerance``);
* ``checks``: a run report's summary, identity corruptions, outcomes and statistics from
  its own rows;
* ``audit``: a run report against its submission YAML, and the reports against the
  shipped submissions;
* ``studies``: a study's summary from its arrays, its arrays (or one part) from nothing;
* ``zoo``: the shipped codecs' files and RD;
* ``rd``: the committed rate-distortion tables;
* ``plan``: what ``--rerun`` reruns, units and study parts drawn from a commit;
* ``rerun``: a report (or one unit of it) rerun from nothing and compared;
* ``session``: the order of it all, from options to outcomes.

Nothing is imported here, so that building ``bench``'s parser (which reads ``plan``'s help
text) does not load the reruns' machinery.
"""
