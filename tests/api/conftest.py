from api.support import isolated_server, mclient, module_server  # noqa: F401  (fixtures)
