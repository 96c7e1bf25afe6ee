"""`oio namespace serve`: an embedded namespace behind OpenIO's proxy and rawx protocols.

Not a backend: a server in front of one. Its modules, from the bottom up:

- `http`: listening services, connection limits and deadlines, body framing;
- `rawx`: one volume's chunks over OpenIO's rawx protocol;
- `messages`: a proxy request, a reply, the status an error answers;
- `formats`: objects and containers as the proxy shows them (headers, listings);
- `containers`, `contents`, `conscience`: the proxy's routes, by family, and
  `account` the account service's (served on the proxy's address);
- `proxy`: the proxy service: dispatch to the routes, chunk claims;
- `namespace_server`: the orchestrator that starts one proxy and one rawx per
  volume over an `EmbeddedNamespace`.

This file stays empty on purpose: importing one part (the HTTP plumbing, say)
does not load the proxy routes or open a namespace.
"""
