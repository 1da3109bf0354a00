"""Build-time pipeline: fetch and normalise the spec, generate the client, diff specs."""
