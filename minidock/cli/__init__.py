"""The command line: a typer app, one module per noun group; the only place that prints or exits."""
