"""The DAG page: ``kjob ui`` (a local web server), ``kjob report`` (the same page as one file) and the
model both draw from a run's record.  Application layer: it reads runs, never runs them."""
