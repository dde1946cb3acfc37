"""The gateway's HTTP side: the Litestar app, its routes, auth and error rendering."""
