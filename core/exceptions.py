class DomainError(Exception):
    """A business rule refused an operation. The message is meant for the person who asked.

    Services raise it before writing anything (or inside the transaction they roll back), so a
    refused operation changes nothing.
    """
