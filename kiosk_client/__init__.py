"""The screen agent: enrols, syncs manifests and assets, serves the player offline."""
