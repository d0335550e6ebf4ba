"""The change-management log of a partnership."""
