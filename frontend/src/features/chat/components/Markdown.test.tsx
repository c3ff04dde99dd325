import { render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { Markdown } from './Markdown';

describe('Markdown', () => {
  it('shows raw HTML and script payloads as text, creating no elements', () => {
    const payload = 'Hi <script>alert(1)</script> and <img src=x onerror=alert(1)>\n\n<div onclick="x()">block</div>';
    const { container } = render(<Markdown text={payload} />);
    expect(container.querySelector('script')).toBeNull();
    expect(container.querySelector('img')).toBeNull();
    expect(container.querySelector('div[onclick]')).toBeNull();
    expect(container.textContent).toContain('<script>alert(1)</script>');
    expect(container.textContent).toContain('<img src=x onerror=alert(1)>');
    expect(container.textContent).toContain('<div onclick="x()">');
  });

  it('neutralises javascript: links', () => {
    const { container } = render(<Markdown text="[click](javascript:alert(1))" />);
    const link = container.querySelector('a');
    expect(link?.getAttribute('href') ?? '').not.toContain('javascript:');
  });

  it('renders GFM tables and lists', () => {
    const { container } = render(<Markdown text={'| a | b |\n| - | - |\n| 1 | 2 |\n\n- one\n- two'} />);
    expect(container.querySelectorAll('table td')).toHaveLength(2);
    expect(container.querySelectorAll('ul li')).toHaveLength(2);
  });

  it('highlights code blocks and offers a copy button', async () => {
    const { container } = render(<Markdown text={'```js\nconst x = 1;\n```'} />);
    expect(screen.getByRole('button', { name: 'Copy code' })).toBeInTheDocument();
    expect(container.querySelector('pre')?.textContent).toContain('const x = 1;');
    await waitFor(() => expect(container.querySelector('.hljs-keyword')).not.toBeNull());
  });
});
