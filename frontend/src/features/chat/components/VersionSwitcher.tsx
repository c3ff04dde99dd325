import { IconButton } from '../../../components/ui/IconButton';
import { ChevronLeft, ChevronRight } from '../../../components/ui/icons';

/** "2 / 3" with previous/next, for the versions of one answer (regenerations) or one
 * message (edits); each version leads its own branch. */
export function VersionSwitcher({
  index,
  count,
  onChange,
  what = 'answer',
}: {
  index: number;
  count: number;
  onChange: (index: number) => void;
  what?: 'answer' | 'message';
}) {
  if (count < 2) return null;
  // Answers keep the plain names ("Previous version"); edits of a message say so.
  const noun = what === 'answer' ? 'version' : 'edit';
  return (
    <div className="flex items-center text-xs text-zinc-500" role="group" aria-label={what === 'answer' ? 'Answer versions' : 'Message versions'}>
      <IconButton label={`Previous ${noun}`} disabled={index === 0} onClick={() => onChange(index - 1)}>
        <ChevronLeft />
      </IconButton>
      <span aria-live="polite">
        {index + 1} / {count}
      </span>
      <IconButton
        label={`Next ${noun}`}
        disabled={index === count - 1}
        onClick={() => onChange(index + 1)}
      >
        <ChevronRight />
      </IconButton>
    </div>
  );
}
