export { ImportExport } from './components/ImportExport';
