import { createBrowserRouter, RouterProvider, type RouteObject } from 'react-router';
import { Layout } from './Layout';
import { ChatRoute, HistoryRoute, SharedRoute } from './routes';

export const routes: RouteObject[] = [
  // A share link: its own page, without the sidebar (its viewer may have no account).
  { path: '/s/:token', element: <SharedRoute /> },
  {
    path: '/',
    element: <Layout />,
    children: [
      { index: true, element: <ChatRoute /> },
      { path: 'c/:conversationId', element: <ChatRoute /> },
      { path: 'history', element: <HistoryRoute /> },
      { path: '*', element: <ChatRoute /> },
    ],
  },
];

const router = createBrowserRouter(routes);

export function App() {
  return <RouterProvider router={router} />;
}
