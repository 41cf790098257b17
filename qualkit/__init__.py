"""qualkit."""
