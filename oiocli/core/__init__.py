"""The bottom layer: what the data path, the backends and the server all share.

Names, storage methods, chunk positions and identity checks, buffers, exceptions.
A module here imports nothing of oiocli but `oiocli.core`; this package imports
nothing eagerly (start-up time).
"""
