"""The OpenIO SDS backend: metadata through an `oio-proxy`, chunks on `rawx` services.

`ProxyNamespace` (metadata) and `HttpChunkStore` (chunks) have the interfaces of
the embedded backend, so `ObjectStorageApi` and its data path (`oiocli.io`) run
unchanged on a real cluster or on `oio namespace serve`.
"""
