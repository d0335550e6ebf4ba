"""Webhooks pages: a partnership's endpoints, their delivery log, test and redelivery."""
