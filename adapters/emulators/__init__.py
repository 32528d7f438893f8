"""In-process emulators of the ticketing platforms, for tests, end-to-end runs and the sandbox.

Each emulator is plain, deterministic code (an injected clock) answering
`handle(method, path, query, headers, body) -> (status, headers, body)` like the real REST API;
`server.EmulatorServer` serves one over HTTP on the loopback interface.
"""
