"""The content service: program releases, training recordings and their files (README.md)."""
