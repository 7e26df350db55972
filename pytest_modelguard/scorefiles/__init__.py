"""Result files of any tool read as per-case scores, paired and judged: ``modelguard compare``.

``read.read_scores`` sniffs the kind (our JSON report, an Inspect AI log, promptfoo's
``eval -o results.json``, a CSV of ``id,score``) and returns a ``ScoreTable``;
``pairing.pair_tables`` pairs two tables by case id, reporting what does not pair;
``outcome.judge_files`` runs the gate's own ``compare()``; ``render`` prints and writes it.
"""
