"""The turn core: session, engine, journey state machine, guard rails, prompt rendering. Names no domain."""
