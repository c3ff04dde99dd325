import { useEffect, useState } from 'react';
import { copyText } from './copy';
import { CheckIcon, CopyIcon } from './icons';
import { IconButton } from './IconButton';

/** Copies `text()` and shows a tick for a moment. */
export function CopyButton({ text, label = 'Copy' }: { text: () => string; label?: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 1500);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <IconButton
      label={copied ? 'Copied' : label}
      onClick={async () => setCopied(await copyText(text()))}
    >
      {copied ? <CheckIcon /> : <CopyIcon />}
    </IconButton>
  );
}
