// Page helpers moved to src/web/pages.ts; re-exported here for code written against the old path.
export { escapeHtml, renderPage, sendError, sendPage, wantsJson, type PageError } from '../web/pages.ts';
