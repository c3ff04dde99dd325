export { FeedbackControls } from './components/FeedbackControls';
export { useConversationFeedback } from './useConversationFeedback';
