"""frontend/src/features/feedback/protocol.ts restates this app's frame, reasons and limit."""
import re
from pathlib import Path

from feedback import protocol

MIRROR = Path(__file__).resolve().parents[3] / "frontend/src/features/feedback/protocol.ts"


def test_the_typescript_mirror_agrees():
    text = MIRROR.read_text()
    assert f"MESSAGE_FEEDBACK = '{protocol.MESSAGE_FEEDBACK}'" in text
    assert f"COMMENT_MAX = {protocol.COMMENT_MAX};" in text
    for rating, reasons in protocol.REASONS.items():
        listed = re.search(rf"\b{rating}: \[([^\]]*)\]", text)
        assert listed, rating
        assert re.findall(r"'(\w+)'", listed[1]) == list(reasons)
