"""The operators' web console (issue 19): a Starlette app served by the reference backend
(`python -m host_tools.backend … --http HOST:PORT`); docs/web.md."""
