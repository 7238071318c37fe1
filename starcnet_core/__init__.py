"""StarcNet core: LEGUS data, the LEGUS-like simulator and the StarcNet CNN.

This package is pure science and machine learning. It never imports the
database layer (``db``) nor Streamlit; the web application and the CLIs
build on it.
"""

__version__ = "0.1.0"
