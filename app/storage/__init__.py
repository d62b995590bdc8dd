"""Storage: SQLAlchemy underneath, domain objects and domain errors on top."""

# Tables declared outside tables.py join its Base.metadata before anything can use it
# (migrations, schema comparisons): a package's __init__ runs before any of its modules.
from app.storage import webhook_tables as webhook_tables
