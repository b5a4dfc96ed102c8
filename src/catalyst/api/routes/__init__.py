"""The API's routers, one module per resource. Routers translate HTTP to use-case calls."""
