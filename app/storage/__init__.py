"""Storage: SQLAlchemy underneath, domain objects and domain errors on top."""
