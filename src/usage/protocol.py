"""Usage's addition to the wire contract: the `quota_exceeded` refusal (docs/protocol.md).

Mirrored in frontend/src/features/usage/protocol.ts.
"""
QUOTA_EXCEEDED = "quota_exceeded"
HTTP_STATUS = 429
