"""ext_host: a BI-style report server that loads packaged extensions.

Extension authors import from :mod:`ext_host.api`; everything else is the
host's own machinery.
"""

__version__ = "0.1.0"

#: The entry-point group installed distributions use to offer an extension.
ENTRY_POINT_GROUP = "ext_host.extensions"
