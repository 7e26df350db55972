"""Bring your suite: ``modelguard import promptfoo|dataset|traces`` (the subcommand's kinds).

Each importer reads another tool's files under the input policy (``sources``), maps what
it can to a suite, and lists what it cannot with counts and positions (``findings``),
never dropping anything silently; ``writing`` writes the suite only once the suite loader
accepts it, and never over an existing file unless told to.
"""
