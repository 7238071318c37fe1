"""StarcNet core: LEGUS data, the LEGUS-like simulator and the StarcNet CNN.

Packages: ``io`` (LEGUS data and the files we read and write), ``nn`` (the
network), ``training``, ``evaluation``, ``sim`` (the simulator), ``cli``;
modules every part shares: ``scores`` (score summaries), ``groupings`` (class
groupings), ``calibration`` (temperature scaling and ECE), ``atomic_write``,
``errors``; ``display`` and ``overlay`` (images).

This package is pure science and machine learning. It never imports the
database layer (``db``) nor Streamlit; the web application and the CLIs
build on it.
"""

__version__ = "0.1.0"
