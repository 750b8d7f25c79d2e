"""The contract every Minh Bạch service agrees on, and the few platform helpers they share."""
