"""One thin module per CLI subcommand: ``register(subparsers)`` plus the function it binds.

Each module imports the package modules that do its work inside that function, not at the top: building the parser
imports every command module, and `posestylizer --help` or an argument error must not pay for importing torch (about
two seconds). Shared options live in :mod:`.common`, bounded argument types in :mod:`.argtypes`.
"""
