"""Reports from a backend database: tables, groupings and invoices (tables), the HTML page
with charts (html_page); `python -m host_tools.report` is the command."""
