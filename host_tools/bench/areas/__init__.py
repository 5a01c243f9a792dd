"""One module per bench area, each with measure() (its figures) and, where it has goals,
check(figures); `python -m host_tools.bench --only AREA` runs one by its module name."""
