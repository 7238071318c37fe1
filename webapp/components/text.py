"""Text that people typed (expert, galaxy and model names, comments, messages quoting them) shown as typed.

Streamlit renders markdown in titles, captions, alerts and ``st.markdown``:
a name such as ``[x](https://...)![p](http://host/p.png)`` would become a
link and an image the browser fetches from elsewhere. :func:`plain` escapes
every markdown (and LaTeX, emoji-code, HTML) character, so the text is shown
literally inside the app's own markdown.
"""

from __future__ import annotations

import re

__all__ = ["plain"]

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the
# ones that start markup in Streamlit's renderer (links, images, emphasis,
# code, headings, lists, tables, HTML, $LaTeX$, :emoji: and :color[...]).
_MARKUP = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=^&\"'])")


def plain(value: object) -> str:
    """``value`` as text, one line, with every markdown character escaped.

    Parameters
    ----------
    value : object
        Converted with ``str``; runs of whitespace (newlines too) become one space.

    Returns
    -------
    str
        Safe to put inside a markdown string: Streamlit shows it literally.
    """
    return _MARKUP.sub(r"\\\1", " ".join(str(value).split()))
