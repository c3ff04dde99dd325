import { IconButton } from '../../../components/ui/IconButton';
import { ChevronLeft, ChevronRight } from '../../../components/ui/icons';

/** "2 / 3" with previous/next, for the versions of one answer. */
export function VersionSwitcher({
  index,
  count,
  onChange,
}: {
  index: number;
  count: number;
  onChange: (index: number) => void;
}) {
  if (count < 2) return null;
  return (
    <div className="flex items-center text-xs text-zinc-500" role="group" aria-label="Answer versions">
      <IconButton label="Previous version" disabled={index === 0} onClick={() => onChange(index - 1)}>
        <ChevronLeft />
      </IconButton>
      <span aria-live="polite">
        {index + 1} / {count}
      </span>
      <IconButton
        label="Next version"
        disabled={index === count - 1}
        onClick={() => onChange(index + 1)}
      >
        <ChevronRight />
      </IconButton>
    </div>
  );
}
