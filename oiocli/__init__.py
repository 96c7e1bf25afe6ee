"""oiocli: administration tool and storage API for OpenIO-style object storage."""

__version__ = "0.1.0"
