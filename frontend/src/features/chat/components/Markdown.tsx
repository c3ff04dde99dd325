import { memo, useEffect, useMemo, useRef, useState, type ComponentProps } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import remarkGfm from 'remark-gfm';
import { CopyButton } from '../../../components/ui/CopyButton';
import { splitGrown, type Split } from '../markdown/blocks';

interface MdastNode {
  type: string;
  value?: string;
  children?: MdastNode[];
}

/**
 * Raw HTML in a message must show as the text the author wrote, never as markup.
 * (Without rehype-raw react-markdown would drop it silently; we turn it into text.)
 */
function remarkHtmlAsText() {
  return (tree: MdastNode) => {
    const visit = (node: MdastNode) => {
      if (node.type === 'html') node.type = 'text';
      node.children?.forEach(visit);
    };
    visit(tree);
  };
}

function CodeBlock({ children, node: _node, ...rest }: ComponentProps<'pre'> & { node?: unknown }) {
  const pre = useRef<HTMLPreElement>(null);
  // The copy button sits in its own bar above the code, so it never hides a line's end.
  return (
    <div className="code-block overflow-hidden rounded-md bg-zinc-100 dark:bg-zinc-900">
      <div className="flex justify-end px-1 pt-1 opacity-70 hover:opacity-100 focus-within:opacity-100">
        <CopyButton label="Copy code" text={() => pre.current?.textContent ?? ''} />
      </div>
      <pre ref={pre} {...rest} className="overflow-x-auto px-3 pb-3 text-sm">
        {children}
      </pre>
    </div>
  );
}

const components: Components = {
  pre: CodeBlock,
  a: ({ node: _node, ...props }) => <a {...props} target="_blank" rel="noopener noreferrer" />,
};

const remarkPlugins = [remarkGfm, remarkHtmlAsText];
type RehypePlugins = ComponentProps<typeof ReactMarkdown>['rehypePlugins'];

// The highlighter (highlight.js grammars) is most of the bundle's weight: load it on
// first use, and render plain code blocks until it arrives.
let highlightPlugins: RehypePlugins | null = null;
let highlightLoading: Promise<RehypePlugins> | null = null;
function loadHighlight(): Promise<RehypePlugins> {
  highlightLoading ??= import('rehype-highlight').then((module) => {
    highlightPlugins = [[module.default, { detect: false }]] as RehypePlugins;
    return highlightPlugins;
  });
  return highlightLoading;
}

// Fetch and compile it once the page is idle, not in the frame where the first code block
// of a streaming answer closes.
if (typeof window !== 'undefined' && 'requestIdleCallback' in window) {
  requestIdleCallback(() => void loadHighlight().catch(() => undefined), { timeout: 5000 });
}

function useHighlightPlugins(wanted: boolean): RehypePlugins | undefined {
  const [plugins, setPlugins] = useState(highlightPlugins);
  useEffect(() => {
    if (!wanted || plugins) return;
    let live = true;
    loadHighlight().then((loaded) => live && setPlugins(loaded), () => undefined);
    return () => {
      live = false;
    };
  }, [wanted, plugins]);
  return plugins ?? undefined;
}

/**
 * One run of top-level blocks, after the newline text node react-markdown puts between
 * top-level elements (so runs side by side make the same DOM as the whole text). Memoized
 * on its text: a run that is closed never changes, so it is parsed and highlighted once.
 * `rehypePlugins` is undefined for the open tail (code stays plain until its block closes)
 * and while the highlighter loads.
 */
const Run = memo(function Run({ text, first, rehypePlugins }: { text: string; first: boolean; rehypePlugins: RehypePlugins | undefined }) {
  return (
    <>
      {first ? null : '\n'}
      <ReactMarkdown remarkPlugins={remarkPlugins} rehypePlugins={rehypePlugins} components={components}>
        {text}
      </ReactMarkdown>
    </>
  );
});

/**
 * Message text rendered as GitHub-flavoured Markdown, safely (no raw HTML).
 * `streaming`: the text is still growing; its last run of blocks is open and rendered
 * without highlighting, every run before it is rendered once (see ../markdown/blocks.ts).
 */
export const Markdown = memo(function Markdown({ text, streaming = false }: { text: string; streaming?: boolean }) {
  const rehypePlugins = useHighlightPlugins(text.includes('```') || text.includes('~~~'));
  const previous = useRef<{ text: string; split: Split } | null>(null);
  const { blocks, definitions } = useMemo(() => {
    const split = splitGrown(text, previous.current);
    previous.current = { text, split };
    return split;
  }, [text]);
  const last = blocks.length - 1;
  // Link definitions, put before every run. While streaming only those of closed runs: the
  // tail's may be half written, and the tail resolves its own anyway.
  const known = streaming ? definitions.filter((definition) => definition.run < last) : definitions;
  const prelude = known.length ? `${known.map((definition) => definition.line).join('\n')}\n\n` : '';
  // A run of definitions alone renders nothing, and so gets no separator either.
  const silent = new Set<number>();
  for (const run of new Set(definitions.map((definition) => definition.run))) {
    const lines = blocks[run].split('\n').filter((line) => line.trim()).length;
    if (lines === definitions.filter((definition) => definition.run === run).length) silent.add(run);
  }
  let shown = 0;
  // An answer that streamed here can grow to thousands of blocks: let the browser skip the
  // layout and paint of those off screen (each keeps its measured size once rendered).
  const [streamed] = useState(streaming);
  return (
    <div className={streamed ? 'markdown streamed' : 'markdown'}>
      {blocks.map((block, index) =>
        silent.has(index) ? null : (
          // Index keys: runs only ever grow at the end, or merge back into the tail.
          <Run
            key={index}
            text={prelude + block}
            first={shown++ === 0}
            rehypePlugins={streaming && index === last ? undefined : rehypePlugins}
          />
        ),
      )}
    </div>
  );
});

/** The whole text as one piece: what the runs must add up to (the tests' reference). */
export function MarkdownWhole({ text }: { text: string }) {
  const rehypePlugins = useHighlightPlugins(true);
  return (
    <div className="markdown">
      <Run text={text} first rehypePlugins={rehypePlugins} />
    </div>
  );
}
