"""How good the recommendations are, measured: the evaluation protocol (evaluation), the original
work's experiments (experiments), the HTML report (report), the tuning and held-out halves of a
catalogue (splits), and the admin's background runs (insights)."""
