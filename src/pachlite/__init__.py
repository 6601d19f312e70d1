"""pachlite: Pachyderm's versioned data and pipeline semantics on a laptop."""

__version__ = "0.1.0"
