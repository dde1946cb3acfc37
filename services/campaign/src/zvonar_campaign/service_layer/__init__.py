"""Command handlers of the campaign service and the bus that dispatches to them."""
