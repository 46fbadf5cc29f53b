from api.support import mclient, module_server  # noqa: F401  (fixtures)
