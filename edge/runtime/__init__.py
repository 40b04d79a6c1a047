"""The running agent: its clock and calendar, the sampler, the relay bank, the agent loop, and the live runner."""
