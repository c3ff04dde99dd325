import { createBrowserRouter, RouterProvider } from 'react-router';
import { Layout } from './Layout';
import { ChatRoute, HistoryRoute } from './routes';

const router = createBrowserRouter([
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
]);

export function App() {
  return <RouterProvider router={router} />;
}
