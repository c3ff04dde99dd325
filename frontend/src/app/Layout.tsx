import { useCallback, useState } from 'react';
import { Link, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { ReloginDialog } from '../components/ReloginDialog';
import { Button } from '../components/ui/Button';
import { Dialog } from '../components/ui/Dialog';
import { IconButton } from '../components/ui/IconButton';
import { CloseIcon, MenuIcon, PlusIcon } from '../components/ui/icons';
import { ConversationSidebarList, HISTORY_SEARCH_ID } from '../features/history';
import { useMediaQuery } from '../lib/useMediaQuery';
import { SHORTCUTS, useShortcuts } from './shortcuts';
import { ThemeToggle } from './ThemeToggle';
import { UserMenu } from './UserMenu';

/** Sidebar (a drawer on small screens) + the routed page + global dialogs. */
export function Layout() {
  const [drawerOpen, setDrawerOpen] = useState(false);
  const [helpOpen, setHelpOpen] = useState(false);
  const navigate = useNavigate();
  const location = useLocation();
  const closeDrawer = useCallback(() => setDrawerOpen(false), []);
  const wide = useMediaQuery('(min-width: 768px)');
  // On a phone the closed drawer is off-screen: keep it out of the tab order too.
  const sidebarHidden = !wide && !drawerOpen;

  const newChat = useCallback(() => {
    setDrawerOpen(false);
    navigate('/');
  }, [navigate]);
  const search = useCallback(() => {
    setDrawerOpen(false);
    const box = document.getElementById(HISTORY_SEARCH_ID);
    if (box) box.focus();
    else navigate('/history');
  }, [navigate]);
  const help = useCallback(() => setHelpOpen(true), []);
  useShortcuts({ newChat, search, help });

  return (
    <div className="flex h-full">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 dark:focus:bg-zinc-900"
      >
        Skip to content
      </a>
      {drawerOpen && (
        <div className="fixed inset-0 z-30 bg-black/40 md:hidden" aria-hidden="true" onClick={closeDrawer} />
      )}
      <aside
        aria-label="Sidebar"
        inert={sidebarHidden}
        onKeyDown={(event) => {
          if (event.key === 'Escape' && !wide) closeDrawer();
        }}
        className={`fixed inset-y-0 left-0 z-40 flex w-72 flex-col border-r border-zinc-200 bg-zinc-50 transition-transform md:static md:translate-x-0 dark:border-zinc-800 dark:bg-zinc-900 ${
          drawerOpen ? 'translate-x-0' : '-translate-x-full'
        }`}
      >
        <div className="flex items-center gap-2 p-2">
          <Button variant="primary" className="flex-1" onClick={newChat} title="New chat (Ctrl/⌘+Shift+O)">
            <PlusIcon /> New chat
          </Button>
          <IconButton label="Close sidebar" className="md:hidden" onClick={closeDrawer}>
            <CloseIcon />
          </IconButton>
        </div>
        <NavLink
          to="/history"
          onClick={closeDrawer}
          className={({ isActive }) =>
            `mx-2 rounded-md px-3 py-2 text-sm hover:bg-zinc-200/70 dark:hover:bg-zinc-800 ${isActive ? 'bg-zinc-200 font-medium dark:bg-zinc-800' : ''}`
          }
        >
          History &amp; search
        </NavLink>
        <h2 className="px-5 pt-3 pb-1 text-xs font-semibold tracking-wide text-zinc-500 uppercase">Recent</h2>
        <ConversationSidebarList onNavigate={closeDrawer} />
        <div className="space-y-2 border-t border-zinc-200 p-2 dark:border-zinc-800">
          <ThemeToggle />
          <button
            type="button"
            onClick={help}
            className="w-full rounded-md px-3 py-1 text-left text-xs text-zinc-500 hover:bg-zinc-200/70 dark:hover:bg-zinc-800"
          >
            Keyboard shortcuts (?)
          </button>
          <UserMenu />
        </div>
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <div className="flex items-center gap-2 border-b border-zinc-200 px-2 py-1 md:hidden dark:border-zinc-800">
          <IconButton label="Open sidebar" aria-expanded={drawerOpen} onClick={() => setDrawerOpen(true)}>
            <MenuIcon />
          </IconButton>
          <Link to="/" className="text-sm font-medium">
            Chat
          </Link>
          <IconButton label="New chat" className="ml-auto" onClick={newChat}>
            <PlusIcon />
          </IconButton>
        </div>
        <main id="main" className="flex min-h-0 flex-1 flex-col" key={location.pathname === '/history' ? 'history' : 'chat'}>
          <Outlet />
        </main>
      </div>
      <Dialog title="Keyboard shortcuts" open={helpOpen} onClose={() => setHelpOpen(false)}>
        <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
          {SHORTCUTS.map((shortcut) => (
            <div key={shortcut.keys} className="contents">
              <dt>
                <kbd className="rounded border border-zinc-300 px-1 font-mono text-xs dark:border-zinc-700">{shortcut.keys}</kbd>
              </dt>
              <dd>{shortcut.action}</dd>
            </div>
          ))}
        </dl>
        <div className="mt-4 flex justify-end">
          <Button onClick={() => setHelpOpen(false)}>Close</Button>
        </div>
      </Dialog>
      <ReloginDialog />
    </div>
  );
}
