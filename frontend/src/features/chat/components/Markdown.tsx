import { memo, useRef, type ComponentProps } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
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
const rehypePlugins = [[rehypeHighlight, { detect: false, ignoreMissing: true }]] as ComponentProps<
  typeof ReactMarkdown
>['rehypePlugins'];

/** Message text rendered as GitHub-flavoured Markdown, safely (no raw HTML). */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
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
