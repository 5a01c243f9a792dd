# The agent's wiring: builds the parts from the HAL, board and config, and runs the loop.
