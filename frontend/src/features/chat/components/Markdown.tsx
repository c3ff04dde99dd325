import { memo, useEffect, useRef, useState, type ComponentProps } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import remarkGfm from 'remark-gfm';
import { CopyButton } from '../../../components/ui/CopyButton';

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
  return (
    <div className="group relative">
      <div className="absolute top-1 right-1 opacity-70 group-hover:opacity-100 focus-within:opacity-100">
        <CopyButton label="Copy code" text={() => pre.current?.textContent ?? ''} />
      </div>
      <pre
        ref={pre}
        {...rest}
        className="overflow-x-auto rounded-md bg-zinc-100 p-3 pr-10 text-sm dark:bg-zinc-900"
      >
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

/** Message text rendered as GitHub-flavoured Markdown, safely (no raw HTML). */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  const rehypePlugins = useHighlightPlugins(text.includes('```') || text.includes('~~~'));
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={remarkPlugins}
        rehypePlugins={rehypePlugins}
        components={components}
      >
        {text}
      </ReactMarkdown>
    </div>
  );
});
