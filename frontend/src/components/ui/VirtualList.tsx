import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, type ReactNode } from 'react';

interface VirtualListProps<T> {
  items: T[];
  itemKey: (item: T) => string;
  estimateSize: number;
  renderItem: (item: T) => ReactNode;
  /** Called when the last rows come into view (infinite scroll). */
  onEndReached?: () => void;
  label: string;
  className?: string;
}

/** A vertical list that keeps only the visible rows in the DOM. */
export function VirtualList<T>({
  items,
  itemKey,
  estimateSize,
  renderItem,
  onEndReached,
  label,
  className = '',
}: VirtualListProps<T>) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => estimateSize,
    overscan: 8,
    getItemKey: (index) => itemKey(items[index]),
    initialRect: { width: 300, height: 800 },
  });
  const virtualItems = virtualizer.getVirtualItems();
  const lastIndex = virtualItems[virtualItems.length - 1]?.index ?? -1;

  useEffect(() => {
    if (onEndReached && items.length > 0 && lastIndex >= items.length - 3) onEndReached();
  }, [lastIndex, items.length, onEndReached]);

  return (
    <div ref={scroller} className={`min-h-0 overflow-y-auto ${className}`}>
      <ul aria-label={label} className="relative" style={{ height: virtualizer.getTotalSize() }}>
        {virtualItems.map((row) => (
          <li
            key={row.key}
            data-index={row.index}
            ref={virtualizer.measureElement}
            className="absolute top-0 right-0 left-0"
            style={{ transform: `translateY(${row.start}px)` }}
          >
            {renderItem(items[row.index])}
          </li>
        ))}
      </ul>
    </div>
  );
}
