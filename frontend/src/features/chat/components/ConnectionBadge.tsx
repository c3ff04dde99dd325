import type { ConnectionState } from '../../../lib/reconnectingSocket';

const labels: Record<ConnectionState, { text: string; dot: string }> = {
  connecting: { text: 'Connecting', dot: 'bg-amber-400' },
  online: { text: 'Online', dot: 'bg-emerald-500' },
  reconnecting: { text: 'Reconnecting', dot: 'bg-amber-500 animate-pulse' },
  offline: { text: 'Offline', dot: 'bg-zinc-400' },
};

export function ConnectionBadge({ state }: { state: ConnectionState }) {
  const { text, dot } = labels[state];
  return (
    <span role="status" className="inline-flex items-center gap-1.5 text-xs text-zinc-500">
      <span aria-hidden="true" className={`h-2 w-2 rounded-full ${dot}`} />
      {text}
    </span>
  );
}
