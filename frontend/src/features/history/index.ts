export { ConversationSidebarList } from './components/Sidebar';
export { HistoryPage, HISTORY_SEARCH_ID } from './components/HistoryPage';
