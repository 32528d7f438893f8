"""Stateful emulators of the ticketing platforms (fakes, not adapters), for tests, end-to-end
runs and the sandbox, which drives the real adapters over them.

Each emulator is plain, deterministic code (an injected clock) answering
`handle(Request) -> (status, headers, body)` like the real REST API (`emulators.http`);
`server.EmulatorServer` serves one over HTTP on the loopback interface. Nothing here imports
the adapters: the fakes are written from the platforms' documentation, not from our client.
"""
