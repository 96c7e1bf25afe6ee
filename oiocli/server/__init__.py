"""`oio namespace serve`: an embedded namespace behind OpenIO's proxy and rawx protocols.

Not a backend: a server in front of one. Its modules, from the bottom up:

- `http`: listening services, connection limits and deadlines, body framing;
- `rawx`: one volume's chunks over OpenIO's rawx protocol;
- `proxy`: OpenIO's oio-proxy protocol and its routes; the account service's
  routes are in `account`;
- `namespace_server`: the orchestrator that starts one proxy and one rawx per
  volume over an `EmbeddedNamespace`.

This file stays empty on purpose: importing one part (the HTTP plumbing, say)
does not load the proxy routes or open a namespace.
"""
