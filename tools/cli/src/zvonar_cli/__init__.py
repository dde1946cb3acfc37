"""`zvonar`: the command line for operators and analysts."""
