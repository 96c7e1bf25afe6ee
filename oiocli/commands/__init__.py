"""The `oio` commands: one module per resource, one class per verb (see oiocli.shell)."""
