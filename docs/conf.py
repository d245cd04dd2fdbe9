# docs/conf.py -- Sphinx configuration of zlab's documentation (`make docs`; CI builds it with -W).
"""Sphinx with autodoc (the API pages import zlab and read its signatures and docstrings), MyST for
Markdown pages and myst-nb for the notebooks, which are executed against the committed results on
every build (a failing cell fails the build). Pages generated from the code come from _ext/zlab_docs.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))  # this checkout's zlab, not another one on the path

import zlab  # noqa: E402

project = "zlab"
author = "the zlab developers"
copyright = "the zlab developers"
release = version = zlab.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "myst_nb",  # Markdown pages (MyST) and notebooks, executed at build time
    "zlab_docs",  # the CLI reference and the results schema, generated from the code
]
exclude_patterns = ["_build", "notebooks/README.md", "notebooks/.ipynb_checkpoints"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# -- API pages ------------------------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# getsockopt's option kinds by name, not as the long Literal they stand for
autodoc_type_aliases = {"BytesOption": "zlab.options.BytesOption", "IntOption": "zlab.options.IntOption"}
autodoc_default_options = {"members": True, "show-inheritance": True}
# Every reference must resolve (nitpicky), except to other projects: the build is offline, with no
# inventory of theirs, so those stay plain text. A few internal types appear in public signatures.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(pandas|numpy|matplotlib|pyarrow|zmq|tqdm|nacl)(\..*)?"),
    (r"py:.*", r"(collections|os|pathlib|argparse|asyncio|typing|threading|socket|enum|ctypes)(\..*)?"),
    (r"py:.*", r"(time|multiprocessing|subprocess|signal|dataclasses|datetime)(\..*)?"),
    # the harness's peer-side and plumbing modules are not documented page by page (nor their constants
    # and helpers); names a docstring gives unqualified resolve in the module's own page or nowhere
    (
        r"py:.*",
        r"zlab\.bench\.(peer|control|scenarios|remote|fault_peers|coordinator|spawning|worker|adapters|raw)(\..*)?",
    ),
    (r"py:(data|func)", r"zlab\.bench\..*"),
    (r"py:(data|func|class)", r"[A-Za-z_][A-Za-z0-9_]*"),
    # a generic in a dataclass field's :type:, split at its comma
    (r"py:class", r"(tuple|dict|list|set)\[.*"),
    # the layers under the facade are not documented page by page; nor are a few internal types
    (r"py:.*", r"zlab\.(io|sockets|zmtp|pipe)\..*"),
    (
        r"py:class",
        r"zlab\.(socket\.SocketContext|socket\.EndpointContext|bench\.worker\.Fault|bench\.runner\.CellOutcome|bench\.coordinator\..*)",
    ),
]
# zlab.Context is also zlab.context.Context (its canonical name) and zlab.asyncio.Context: the first wins
suppress_warnings = ["ref.python"]

# -- MyST and notebooks -----------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "force"  # every build runs every notebook against the committed results
# A failing cell is a warning showing the cell and its traceback; the build's -W (make docs, CI) makes it fatal.
nb_execution_raise_on_error = False
nb_execution_allow_errors = False
nb_execution_show_tb = True
nb_execution_timeout = 300  # per cell
nb_merge_streams = True

# -- HTML -------------------------------------------------------------------------------------------------
smartquotes = False  # "--quick" stays two hyphens
html_theme = "furo"
html_title = f"zlab {release}"
html_static_path = ["_static"]
html_css_files = ["zlab.css"]
