"""Analytics over the store: cost views and prompt versions."""
