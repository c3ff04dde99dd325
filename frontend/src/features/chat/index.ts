export { ChatPage } from './components/ChatPage';
export { SharedChatPage } from './components/SharedChatPage';
