"""SMS backends: base (what a provider's class implements), console, file, locmem."""
